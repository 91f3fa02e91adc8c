using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Watchdog;

/// <summary>
/// The diagnostic snapshot a worker logs on SIGUSR1 (which the watcher sends just before it stops the worker
/// for breaking a limit): every metric, the publisher's queue, and the processes being tracked.
/// </summary>
public sealed class WorkerDiagnostics
{
    /// <summary>At most this many tracked processes are listed; the rest are counted.</summary>
    public const int MaxProcessLines = 50;

    private readonly MetricsRegistry _metrics;
    private readonly IPublisherProgress? _publisher;
    private readonly Func<IEnumerable<string>>? _trackedProcesses;

    public WorkerDiagnostics(MetricsRegistry metrics, IPublisherProgress? publisher = null, Func<IEnumerable<string>>? trackedProcesses = null)
    {
        _metrics = metrics;
        _publisher = publisher;
        _trackedProcesses = trackedProcesses;
    }

    /// <summary>The snapshot as log lines. A failing source is reported in its line; the rest still comes out.</summary>
    public List<string> Snapshot()
    {
        var lines = new List<string>();
        var text = new StringBuilder("metrics:");
        foreach (var metric in _metrics.Snapshot())
        {
            text.Append(' ').Append(metric.Name).Append('=');
            if (metric.Kind == MetricKind.Text)
            {
                text.Append('"').Append(metric.Text).Append('"');
            }
            else
            {
                text.Append(metric.Number.ToString(CultureInfo.InvariantCulture));
            }
        }

        lines.Add(text.ToString());
        if (_publisher is not null)
        {
            lines.Add(Safely("publisher", () => string.Create(CultureInfo.InvariantCulture,
                $"publisher: {_publisher.ActiveEvents} events queued or in flight, last ack {_publisher.LastAck:O}, output's last error: {_publisher.LastOutputError ?? "none"}")));
        }

        if (_trackedProcesses is not null)
        {
            try
            {
                var shown = new List<string>(MaxProcessLines);
                var total = 0;
                foreach (var process in _trackedProcesses())
                {
                    if (total < MaxProcessLines)
                    {
                        shown.Add("  " + process);
                    }

                    total++;
                }

                lines.Add(string.Create(CultureInfo.InvariantCulture, $"tracked processes: {total}"));
                lines.AddRange(shown);
                if (total > shown.Count)
                {
                    lines.Add(string.Create(CultureInfo.InvariantCulture, $"  … and {total - shown.Count} more"));
                }
            }
            catch (Exception e)
            {
                lines.Add($"tracked processes: unavailable ({e.GetType().Name}: {e.Message})");
            }
        }

        return lines;
    }

    public void Log(Logger log, string cause)
    {
        log.Warn($"diagnostic snapshot ({cause}), pid {Environment.ProcessId}:");
        foreach (var line in Snapshot())
        {
            log.Warn("diagnostics: " + line);
        }
    }

    /// <summary>Logs the snapshot whenever the process receives SIGUSR1 (from the watcher, or from an operator).</summary>
    public IDisposable ListenForSignal(Logger log) =>
        PosixSignalRegistration.Create((PosixSignal)LibC.SIGUSR1, context =>
        {
            context.Cancel = true;
            Log(log, "SIGUSR1");
        });

    private static string Safely(string what, Func<string> line)
    {
        try
        {
            return line();
        }
        catch (Exception e)
        {
            return $"{what}: unavailable ({e.GetType().Name}: {e.Message})";
        }
    }
}
