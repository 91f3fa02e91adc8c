using System.Text;
using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary>
/// Expands <c>${...}</c> in every scalar of the loaded config (file and <c>-E</c> overrides), as libbeat's
/// go-ucfg does: <c>${path.home}</c>, <c>${path.config}</c>, <c>${path.data}</c> and <c>${path.logs}</c> are
/// the effective paths (a <c>--path.*</c> flag, else the setting, else the default derived from home, as in
/// <see cref="PathSettings"/>); any other name is an environment variable. <c>${NAME:default}</c> gives a
/// default, which may itself hold references (<c>${A:${B:x}}</c>); <c>$${</c> is a literal <c>${</c>.
/// Each scalar is expanded once, so a value that contains <c>${</c> is not expanded again.
/// </summary>
public sealed class ConfigVariables
{
    private static readonly string[] PathNames = { "home", "config", "data", "logs" };

    private readonly ConfigMap _root;
    private readonly PathSettings _cli;
    private readonly Func<string, string?> _environment;
    private readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);
    private readonly HashSet<string> _resolving = new(StringComparer.Ordinal);
    private readonly HashSet<ConfigScalar> _expanded = new(ReferenceEqualityComparer.Instance);

    private ConfigVariables(ConfigMap root, PathSettings cli, Func<string, string?> environment)
    {
        _root = root;
        _cli = cli;
        _environment = environment;
    }

    public static void Expand(ConfigMap root, PathSettings cli, Func<string, string?>? environment = null) =>
        new ConfigVariables(root, cli, environment ?? Environment.GetEnvironmentVariable).Walk(root);

    /// <summary>The default for <c>path.home</c>: the directory of the binary, as in beats.</summary>
    public static string DefaultHome => AppContext.BaseDirectory.TrimEnd('/');

    private void Walk(ConfigNode node)
    {
        switch (node)
        {
            case ConfigMap map:
                foreach (var entry in map.Entries)
                {
                    Walk(entry.Value);
                }

                break;
            case ConfigList list:
                foreach (var item in list.Items)
                {
                    Walk(item);
                }

                break;
            case ConfigScalar scalar:
                ExpandScalar(scalar);
                break;
        }
    }

    private void ExpandScalar(ConfigScalar scalar)
    {
        if (_expanded.Contains(scalar))
        {
            return;
        }

        if (scalar.Value.Contains("${", StringComparison.Ordinal))
        {
            scalar.Value = ExpandText(scalar.Value, scalar, 0);
        }

        // Marked only once done: a path setting that refers to itself is then caught as a cycle.
        _expanded.Add(scalar);
    }

    private string ExpandText(string text, ConfigScalar at, int nesting)
    {
        var result = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var start = text.IndexOf("${", i, StringComparison.Ordinal);
            if (start < 0)
            {
                result.Append(text, i, text.Length - i);
                break;
            }

            // "$${" escapes a literal "${".
            if (start > 0 && text[start - 1] == '$')
            {
                result.Append(text, i, start - i - 1).Append("${");
                i = start + 2;
                continue;
            }

            var end = MatchingBrace(text, start + 2);
            if (end < 0)
            {
                throw at.Error($"unterminated variable reference in '{text}'");
            }

            result.Append(text, i, start - i);
            var reference = text.AsSpan(start + 2, end - start - 2);
            var colon = reference.IndexOf(':');
            var name = (colon < 0 ? reference : reference[..colon]).ToString();
            var value = Lookup(name, at);
            if (value is null)
            {
                if (colon < 0)
                {
                    throw at.Error($"environment variable {name} is not set (write ${{{name}:default}} to give a default)");
                }

                if (nesting + 1 > ConfigLimits.MaxReferenceNesting)
                {
                    throw at.Error($"variable references are nested more than {ConfigLimits.MaxReferenceNesting} deep in defaults, the limit for a config");
                }

                // Like go-ucfg, a default is expanded only when it is used.
                value = ExpandText(reference[(colon + 1)..].ToString(), at, nesting + 1);
            }

            result.Append(value);
            i = end + 1;
        }

        return result.ToString();
    }

    /// <summary>The index of the '}' that closes a reference whose name starts at <paramref name="from"/>, or -1.</summary>
    private static int MatchingBrace(string text, int from)
    {
        var open = 1;
        for (var j = from; j < text.Length; j++)
        {
            if (text[j] == '$' && j + 1 < text.Length && text[j + 1] == '{')
            {
                open++;
                j++;
            }
            else if (text[j] == '}' && --open == 0)
            {
                return j;
            }
        }

        return -1;
    }

    private string? Lookup(string name, ConfigScalar at) =>
        name.StartsWith("path.", StringComparison.Ordinal) && Array.IndexOf(PathNames, name[5..]) >= 0
            ? ResolvePath(name[5..], at)
            : _environment(name);

    private string ResolvePath(string name, ConfigScalar at)
    {
        var flag = name switch
        {
            "home" => _cli.Home,
            "config" => _cli.Config,
            "data" => _cli.Data,
            _ => _cli.Logs,
        };
        if (flag.Length > 0)
        {
            return flag;
        }

        if (_paths.TryGetValue(name, out var known))
        {
            return known;
        }

        if (!_resolving.Add(name))
        {
            throw at.Error($"path.{name} refers to itself through ${{path.{name}}}");
        }

        string value;
        var node = (_root.Get("path") as ConfigMap)?.Get(name);
        if (node is ConfigScalar scalar && !scalar.IsNull)
        {
            ExpandScalar(scalar);
            value = scalar.Value;
        }
        else if (node is not null and not ConfigScalar)
        {
            throw node.Error($"expected a directory, got {node.KindName}");
        }
        else
        {
            value = name switch
            {
                "home" => DefaultHome,
                "config" => ResolvePath("home", at),
                _ => Path.Combine(ResolvePath("home", at), name),
            };
        }

        _resolving.Remove(name);
        _paths[name] = value;
        return value;
    }
}
