using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Monitoring;

/// <summary>
/// Logs <c>Non-zero metrics in the last 30s</c> every period, with counter deltas and current gauges, and
/// <c>Total metrics</c> once at shutdown — the beats monitoring log.
/// </summary>
public sealed class MetricsLogReporter
{
    private readonly MetricsRegistry _registry;
    private readonly Logger _log;
    private readonly TimeSpan _period;
    private readonly TimeProvider _time;
    private Dictionary<string, long> _previous = new(StringComparer.Ordinal);

    public MetricsLogReporter(MetricsRegistry registry, Logger log, TimeSpan period, TimeProvider time)
    {
        _registry = registry;
        _log = log;
        _period = period;
        _time = time;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                ReportDelta();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Logs what changed since the last report; nothing when nothing did.</summary>
    public void ReportDelta()
    {
        var snapshot = _registry.Snapshot();
        var current = new Dictionary<string, long>(snapshot.Count, StringComparer.Ordinal);
        var changed = new List<MetricValue>();
        foreach (var metric in snapshot)
        {
            switch (metric.Kind)
            {
                case MetricKind.Counter:
                    current[metric.Name] = metric.Number;
                    _previous.TryGetValue(metric.Name, out var before);
                    if (metric.Number - before != 0)
                    {
                        changed.Add(metric with { Number = metric.Number - before });
                    }

                    break;
                case MetricKind.Gauge when metric.Number != 0:
                    changed.Add(metric);
                    break;
                case MetricKind.Text when !string.IsNullOrEmpty(metric.Text):
                    changed.Add(metric);
                    break;
            }
        }

        _previous = current;
        if (changed.Count > 0)
        {
            _log.Info($"Non-zero metrics in the last {FormatPeriod(_period)}: {MetricsJson.ToJson(changed)}");
        }
    }

    public void ReportTotals()
    {
        var totals = new List<MetricValue>();
        foreach (var metric in _registry.Snapshot())
        {
            if (metric.Kind == MetricKind.Text ? !string.IsNullOrEmpty(metric.Text) : metric.Number != 0)
            {
                totals.Add(metric);
            }
        }

        _log.Info($"Total metrics: {MetricsJson.ToJson(totals)}");
    }

    private static string FormatPeriod(TimeSpan period) =>
        period.TotalSeconds >= 1 && period.TotalSeconds == Math.Floor(period.TotalSeconds)
            ? $"{period.TotalSeconds:0}s"
            : $"{period.TotalMilliseconds:0}ms";
}
