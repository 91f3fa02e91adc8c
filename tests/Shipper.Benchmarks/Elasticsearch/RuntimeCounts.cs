namespace Shipper.Benchmarks.Elasticsearch;

/// <summary>
/// Runtime counters that explain CPU differences between queues: thread-pool work items (each hand-off between
/// loops that had to wake a thread costs one), context switches, collections per generation and time paused for them.
/// </summary>
public readonly record struct RuntimeCounts(long WorkItems, long ContextSwitches, int Gen0, int Gen1, int Gen2, TimeSpan GcPause)
{
    public static RuntimeCounts Now() => new(
        ThreadPool.CompletedWorkItemCount,
        Elasticsearch.ContextSwitches.Now(),
        GC.CollectionCount(0),
        GC.CollectionCount(1),
        GC.CollectionCount(2),
        GC.GetTotalPauseDuration());

    public static RuntimeCounts operator -(RuntimeCounts after, RuntimeCounts before) => new(
        after.WorkItems - before.WorkItems,
        after.ContextSwitches - before.ContextSwitches,
        after.Gen0 - before.Gen0,
        after.Gen1 - before.Gen1,
        after.Gen2 - before.Gen2,
        after.GcPause - before.GcPause);
}
