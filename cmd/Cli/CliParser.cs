using Shipper.Module.Config;

namespace Shipper.Cli;

/// <summary>
/// Parses beats-style command lines: verbs (<c>run</c>, <c>test config</c>, …) and global flags anywhere,
/// as <c>-c FILE</c>, <c>--path.home=DIR</c> or <c>--path.home DIR</c>, booleans as <c>--strict.perms=false</c>.
/// </summary>
public static class CliParser
{
    public static CliOptions Parse(IReadOnlyList<string> args)
    {
        var options = new CliOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.Length < 2 || arg[0] != '-')
            {
                options.Verb.Add(arg);
                continue;
            }

            var name = arg;
            string? inline = null;
            var eq = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = arg[..eq];
                inline = arg[(eq + 1)..];
            }

            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (i + 1 >= args.Count)
                {
                    throw new UsageException($"flag {name} needs a value");
                }

                return args[++i];
            }

            bool Flag()
            {
                if (inline is null)
                {
                    return true;
                }

                if (!ValueParsers.TryParseBool(inline, out var b))
                {
                    throw new UsageException($"flag {name} takes true or false, got '{inline}'");
                }

                return b;
            }

            switch (name)
            {
                case "-c" or "--c":
                    options.ConfigFile = Value();
                    options.ConfigFileGiven = true;
                    break;
                case "-e" or "--e":
                    options.LogToStderr = Flag();
                    break;
                case "-d" or "--d":
                    foreach (var selector in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        options.DebugSelectors.Add(selector);
                    }

                    break;
                case "-E" or "--E":
                    options.Overrides.Add(Value());
                    break;
                case "--path.home":
                    options.PathHome = Value();
                    break;
                case "--path.config":
                    options.PathConfig = Value();
                    break;
                case "--path.data":
                    options.PathData = Value();
                    break;
                case "--path.logs":
                    options.PathLogs = Value();
                    break;
                case "--strict.perms":
                    options.StrictPerms = Flag();
                    break;
                case "--disable-watchdog":
                    options.DisableWatchdog = Flag();
                    break;
                case "--index-management":
                    options.IndexManagement = Flag();
                    break;
                case "-h" or "--help":
                    options.Help = true;
                    break;
                default:
                    throw new UsageException($"unknown flag {name}");
            }
        }

        return options;
    }

    /// <summary>
    /// The arguments without their <c>-E</c> overrides (<c>-E v</c>, <c>--E v</c>, <c>--E=v</c>), for the worker's
    /// command line: the watcher hands the overrides over the worker's link instead, as they may hold passwords
    /// that argv would show to every user of the host. Call only on arguments <see cref="Parse"/> accepted.
    /// </summary>
    public static List<string> WithoutOverrides(IReadOnlyList<string> args)
    {
        var kept = new List<string>(args.Count);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-E" or "--E")
            {
                i++; // and its value
                continue;
            }

            if (arg.StartsWith("--E=", StringComparison.Ordinal))
            {
                continue;
            }

            kept.Add(arg);
            if (TakesValue(arg))
            {
                // A flag's value that happens to read "-E" is a value, not an override.
                if (i + 1 < args.Count)
                {
                    kept.Add(args[++i]);
                }
            }
        }

        return kept;
    }

    /// <summary>The flags of <see cref="Parse"/> whose value is the next argument when not written inline.</summary>
    private static bool TakesValue(string arg) =>
        arg is "-c" or "--c" or "-d" or "--d" or "--path.home" or "--path.config" or "--path.data" or "--path.logs";
}
