using System.Globalization;
using System.Text;

namespace Shipper.Watchdog;

/// <summary>
/// The watcher's counters, handed to every new worker in <see cref="EnvironmentVariable"/> so that the
/// worker's metrics (<c>watchdog.*</c> in /stats and the metrics log) show the history of the workers
/// before it. Encoded as <c>key=value;…</c> with the text value percent-escaped.
/// </summary>
public sealed class WatchdogState
{
    public const string EnvironmentVariable = "SHIPPER_WATCHDOG_STATE";

    public long WorkerRestarts { get; set; }

    public long KillsMemory { get; set; }

    public long KillsCpu { get; set; }

    /// <summary>Workers that exited because their publisher stalled (<see cref="WorkerExitCodes.PublisherStalled"/>).</summary>
    public long Stalls { get; set; }

    /// <summary>Workers killed because their heartbeat stopped for <c>watchdog.heartbeat_timeout</c>.</summary>
    public long KillsHung { get; set; }

    public string LastKillReason { get; set; } = "";

    public WatchdogState Clone() => (WatchdogState)MemberwiseClone();

    public string Encode()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"worker_restarts={WorkerRestarts};kills_memory={KillsMemory};kills_cpu={KillsCpu};kills_hung={KillsHung};stalls={Stalls};last_kill_reason=");
        text.Append(Uri.EscapeDataString(LastKillReason));
        return text.ToString();
    }

    /// <summary>Parses what <see cref="Encode"/> wrote; the error names the part that is wrong.</summary>
    public static bool TryDecode(string text, out WatchdogState state, out string? error)
    {
        state = new WatchdogState();
        error = null;
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                error = $"'{part}' is not key=value";
                return false;
            }

            var key = part[..eq];
            var value = part[(eq + 1)..];
            if (key == "last_kill_reason")
            {
                state.LastKillReason = Uri.UnescapeDataString(value);
                continue;
            }

            if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                error = $"{key}: '{value}' is not a count";
                return false;
            }

            switch (key)
            {
                case "worker_restarts":
                    state.WorkerRestarts = number;
                    break;
                case "kills_memory":
                    state.KillsMemory = number;
                    break;
                case "kills_cpu":
                    state.KillsCpu = number;
                    break;
                case "kills_hung":
                    state.KillsHung = number;
                    break;
                case "stalls":
                    state.Stalls = number;
                    break;
                default:
                    // A newer watcher may pass more counters; an older worker skips them.
                    break;
            }
        }

        return true;
    }
}
