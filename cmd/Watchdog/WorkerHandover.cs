using System.Text;

namespace Shipper.Watchdog;

/// <summary>
/// What the watcher hands a new worker over their link instead of its command line or environment, where any
/// user of the host could read it (<c>/proc/&lt;pid&gt;/cmdline</c>) and the shipper's own process documents
/// would carry it: the <c>-E</c> overrides, which may hold passwords, and the proc connector positions the
/// previous worker last reported. One line per item, values percent-escaped, ended by <c>end</c>.
/// </summary>
public sealed record WorkerHandover(IReadOnlyList<string> Overrides, string Positions)
{
    public const string EndLine = "end";

    public string Encode()
    {
        var text = new StringBuilder();
        foreach (var item in Overrides)
        {
            text.Append("override ").Append(Uri.EscapeDataString(item)).Append('\n');
        }

        text.Append("positions ").Append(Uri.EscapeDataString(Positions)).Append('\n');
        text.Append(EndLine).Append('\n');
        return text.ToString();
    }

    /// <summary>Reads lines until <see cref="EndLine"/>; the error names the line that is wrong, or says the link ended early.</summary>
    public static bool TryDecode(Func<string?> readLine, out WorkerHandover handover, out string? error)
    {
        var overrides = new List<string>();
        var positions = "";
        handover = new WorkerHandover(overrides, positions);
        error = null;
        for (var number = 1; ; number++)
        {
            var line = readLine();
            if (line is null)
            {
                error = $"the link ended after {number - 1} line(s), before '{EndLine}'";
                return false;
            }

            if (line == EndLine)
            {
                handover = new WorkerHandover(overrides, positions);
                return true;
            }

            var space = line.IndexOf(' ');
            var key = space < 0 ? line : line[..space];
            var value = space < 0 ? "" : Uri.UnescapeDataString(line[(space + 1)..]);
            switch (key)
            {
                case "override":
                    overrides.Add(value);
                    break;
                case "positions":
                    positions = value;
                    break;
                default:
                    // Never echo the line: it may be an override with a password in it.
                    error = $"line {number} is not an override, positions or {EndLine} line";
                    return false;
            }
        }
    }

    /// <summary>Never the overrides themselves: they may hold secrets.</summary>
    public override string ToString() => $"{Overrides.Count} override(s), positions of {(Positions.Length == 0 ? 0 : Positions.Split(',').Length)} CPU(s)";
}
