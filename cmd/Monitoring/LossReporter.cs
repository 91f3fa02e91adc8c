using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Monitoring;

/// <summary>
/// Says at WARN, as it happens, when events are lost: the loss counters are looked at every
/// <see cref="CheckPeriod"/>, and a counter that grew gets a line naming it, with how many since its last line
/// and how many in all. At most one line per counter per <see cref="Interval"/>, so a storm of drops costs a
/// line every few seconds, not one per event; what a quiet period hides is in the next line's count.
/// <see cref="Losses"/> gives the stop message its numbers. Single-threaded: only its timer loop (or a test)
/// calls <see cref="Check"/>.
/// </summary>
public sealed class LossReporter
{
    /// <summary>How often the counters are looked at: the delay between a loss and its line.</summary>
    public static readonly TimeSpan CheckPeriod = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Every counter of events lost for good, each counted once (<c>output.events.dropped</c> repeats
    /// <c>pipeline.events.dropped</c> and <c>process.netlink.socket_drops</c> is part of <c>process.lost</c>;
    /// the disk queue's oversized and unencodable events are in <c>pipeline.events.dropped</c> too), with what
    /// the line says it counts. Kernel events (<c>process.*</c>) and documents (<c>pipeline.*</c>,
    /// <c>queue.*</c>) are added up alike: each is something the shipper saw and did not deliver.
    /// </summary>
    public static readonly (string Counter, string Meaning)[] Counters =
    [
        ("process.lost", "kernel process events missed"),
        ("process.stop_dropped_events", "kernel process events not yet published at the stop"),
        ("pipeline.events.dropped", "events dropped by the output or given up while waiting for the queue"),
        ("pipeline.events.undelivered", "events not delivered before the shutdown timeout"),
        ("queue.disk.corrupt_records", "damaged disk queue records skipped"),
    ];

    private readonly MetricsRegistry _registry;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private readonly long[] _reported = new long[Counters.Length];
    private readonly long[] _lastLineTicks = new long[Counters.Length];

    public LossReporter(MetricsRegistry registry, Logger log, TimeProvider time, TimeSpan? interval = null)
    {
        _registry = registry;
        _log = log;
        _time = time;
        Interval = interval ?? DefaultInterval;
        Array.Fill(_lastLineTicks, long.MinValue);
    }

    public TimeSpan Interval { get; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(CheckPeriod, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Check();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Logs a line for each counter that grew since its last line, unless that line is less than <see cref="Interval"/> old.</summary>
    public void Check()
    {
        var now = _time.GetUtcNow().UtcTicks;
        var snapshot = _registry.Snapshot();
        for (var i = 0; i < Counters.Length; i++)
        {
            var total = ValueOf(snapshot, Counters[i].Counter);
            var since = total - _reported[i];
            if (since <= 0 || (_lastLineTicks[i] != long.MinValue && now - _lastLineTicks[i] < Interval.Ticks))
            {
                continue;
            }

            _reported[i] = total;
            _lastLineTicks[i] = now;
            _log.Warn($"{since} events lost ({Counters[i].Counter}: {Counters[i].Meaning}) since the last line about it; {total} in all");
        }
    }

    /// <summary>The loss counters that are not zero, in <see cref="Counters"/> order, with their values.</summary>
    public static List<(string Counter, long Value)> Losses(MetricsRegistry registry)
    {
        var snapshot = registry.Snapshot();
        var losses = new List<(string, long)>();
        foreach (var (counter, _) in Counters)
        {
            if (ValueOf(snapshot, counter) is var value && value > 0)
            {
                losses.Add((counter, value));
            }
        }

        return losses;
    }

    private static long ValueOf(List<MetricValue> snapshot, string name)
    {
        foreach (var metric in snapshot)
        {
            if (metric.Kind == MetricKind.Counter && metric.Name == name)
            {
                return metric.Number;
            }
        }

        return 0;
    }
}
