using Shipper.Module.Monitoring;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// The counters the netlink source bumps instead of logging (the reader's hot path never logs). Registered once,
/// so the loop only does Interlocked adds. Names are under <c>process.</c> as the dataset publishes them.
/// </summary>
public sealed class NetlinkSourceMetrics
{
    public NetlinkSourceMetrics(MetricsRegistry registry)
    {
        Lost = registry.Counter("process.lost");
        Enrichment = new EnrichmentMetrics(registry);
        Messages = registry.Counter("process.netlink.messages");
        ThreadEvents = registry.Counter("process.netlink.thread_events");
        Malformed = registry.Counter("process.netlink.malformed");
        Foreign = registry.Counter("process.netlink.foreign");
        Overflows = registry.Counter("process.netlink.overflows");
        SocketDrops = registry.Counter("process.netlink.socket_drops");
        SequenceGaps = registry.Counter("process.netlink.sequence_gaps");
        LostBetweenWorkers = registry.Counter("process.netlink.lost_between_workers");
        QueueFull = registry.Counter("process.netlink.queue_full");
        ReceiveErrors = registry.Counter("process.netlink.receive_errors");
        GroupChecks = registry.Counter("process.netlink.group_checks");
        GroupExitsDeferred = registry.Counter("process.netlink.group_exits_deferred");
        GroupExitsFull = registry.Counter("process.netlink.group_exits_full");
        GroupExitsExec = registry.Counter("process.netlink.group_exits_exec");
        ReusedPidStats = registry.Counter("process.netlink.reused_pid_stats");
    }

    /// <summary>Every kernel event we know we missed (socket drops, sequence gaps, numbers left unread by a replaced worker, queue full). Cumulative.</summary>
    public Counter Lost { get; }

    public EnrichmentMetrics Enrichment { get; }

    public Counter Messages { get; }

    public Counter ThreadEvents { get; }

    public Counter Malformed { get; }

    public Counter Foreign { get; }

    public Counter Overflows { get; }

    public Counter SocketDrops { get; }

    public Counter SequenceGaps { get; }

    /// <summary>
    /// Proc connector numbers between the last the replaced worker reported to the watcher and the first this
    /// worker read, per CPU (<see cref="SequencePositions"/>). Of what the kernel numbered it counts more, never
    /// less: event types nobody subscribed to, and with two sockets some the old worker did read. Events sent
    /// while no socket at all was subscribed are never numbered, so not counted; nor is anything on a CPU the
    /// old worker had reported no number for.
    /// </summary>
    public Counter LostBetweenWorkers { get; }

    public Counter QueueFull { get; }

    public Counter ReceiveErrors { get; }

    /// <summary>Looks at /proc (one statx) to tell whether a thread group is gone.</summary>
    public Counter GroupChecks { get; }

    /// <summary>Main-thread exits held because other threads of the process still ran (the process ends with the last).</summary>
    public Counter GroupExitsDeferred { get; }

    /// <summary>Main-thread exits handed on at once although threads still ran, because the table of held ones was full.</summary>
    public Counter GroupExitsFull { get; }

    /// <summary>Main-thread exits dropped because another thread of the process exec'd (the process lives on).</summary>
    public Counter GroupExitsExec { get; }

    /// <summary>Fork stats not used because the pid belonged to another process by then (the child counts as reaped).</summary>
    public Counter ReusedPidStats { get; }
}
