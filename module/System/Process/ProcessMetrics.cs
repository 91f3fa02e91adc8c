using Shipper.Module.Monitoring;

namespace Shipper.Module.System.Process;

/// <summary>
/// The dataset's metrics under <c>process.</c>. Names follow quark's queue statistics where they exist.
/// <c>process.lost</c> is shared with the event source, which counts kernel loss into the same counter.
/// </summary>
public sealed class ProcessMetrics
{
    public const string EnrichmentFailurePrefix = "process.enrichment.failures.";

    /// <summary>
    /// The failure kinds this stage counts under <c>process.enrichment.failures.</c>. The /proc read failures
    /// (cmdline, exe, stat, status, cwd, ns) are counted by the reader that meets them, under the same prefix.
    /// </summary>
    public static readonly string[] EnrichmentFailureKinds = { "hash_timeout", "hash_error" };

    private readonly MetricsRegistry _registry;

    public ProcessMetrics(MetricsRegistry registry)
    {
        _registry = registry;
        Insertions = registry.Counter("process.insertions");
        Removals = registry.Counter("process.removals");
        Aggregations = registry.Counter("process.aggregations");
        NonAggregations = registry.Counter("process.non_aggregations");
        Lost = registry.Counter("process.lost");
        Resyncs = registry.Counter("process.resyncs");
        Untracked = registry.Counter("process.untracked");
        ExitsNotObserved = registry.Counter("process.exits_not_observed");
        StateReports = registry.Counter("process.state_reports");
        StaleEvents = registry.Counter("process.stale_events");
        KernelThreadEvents = registry.Counter("process.kernel_thread_events");
        RepeatedExits = registry.Counter("process.repeated_exits");
        ChangeEvents = registry.Counter("process.change_events");
        StopDroppedEvents = registry.Counter("process.stop_dropped_events");
        Documents = registry.Counter("process.documents");
        Backend = registry.Text("process.backend");
        Tracked = registry.Gauge("process.tracked");
        foreach (var kind in EnrichmentFailureKinds)
        {
            registry.Counter(EnrichmentFailurePrefix + kind);
        }
    }

    /// <summary>Entries added to the process table.</summary>
    public Counter Insertions { get; }

    /// <summary>Entries removed from the process table (grace expired, evicted, replaced, vanished).</summary>
    public Counter Removals { get; }

    /// <summary>Documents that folded two or more kernel events (fork+exec+exit is one aggregation).</summary>
    public Counter Aggregations { get; }

    /// <summary>Lifecycle documents that carry a single kernel event.</summary>
    public Counter NonAggregations { get; }

    /// <summary>Kernel events lost (counted by the event source).</summary>
    public Counter Lost { get; }

    /// <summary>Resynchronisations of the table from /proc after loss.</summary>
    public Counter Resyncs { get; }

    /// <summary>Processes reported without a table entry because the table was full of live processes.</summary>
    public Counter Untracked { get; }

    /// <summary>Processes reported stopped without their exit event (found gone at a resync, or their pid reused).</summary>
    public Counter ExitsNotObserved { get; }

    /// <summary>Periodic state reports sent (each one reports every running process).</summary>
    public Counter StateReports { get; }

    /// <summary>Events ignored because the start-up /proc scan, taken after them, already reports their process.</summary>
    public Counter StaleEvents { get; }

    /// <summary>Events of kernel threads: tracked to recognise them, never reported.</summary>
    public Counter KernelThreadEvents { get; }

    /// <summary>Exits of a process already reported gone (the same event seen twice): nothing new to report.</summary>
    public Counter RepeatedExits { get; }

    /// <summary>uid, gid and name changes: they update the table and show in the process's next document.</summary>
    public Counter ChangeEvents { get; }

    /// <summary>
    /// Kernel events read but not yet in a document handed to the publisher when the dataset stopped
    /// (<c>shipper.shutdown_timeout</c> ran out): still queued for the tracker, or in a report or document.
    /// </summary>
    public Counter StopDroppedEvents { get; }

    /// <summary>Documents handed to the publisher.</summary>
    public Counter Documents { get; }

    /// <summary><c>netlink</c> or <c>procfs</c>.</summary>
    public TextMetric Backend { get; }

    /// <summary>Entries in the process table now (live and exited within the grace time).</summary>
    public Gauge Tracked { get; }

    public void EnrichmentFailure(string kind) => _registry.Counter(EnrichmentFailurePrefix + kind).Increment();
}
