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
        QueueFull = registry.Counter("process.netlink.queue_full");
        ReceiveErrors = registry.Counter("process.netlink.receive_errors");
        ReusedPidStats = registry.Counter("process.netlink.reused_pid_stats");
    }

    /// <summary>Every kernel event we know we missed (socket drops, sequence gaps, queue full). Cumulative.</summary>
    public Counter Lost { get; }

    public EnrichmentMetrics Enrichment { get; }

    public Counter Messages { get; }

    public Counter ThreadEvents { get; }

    public Counter Malformed { get; }

    public Counter Foreign { get; }

    public Counter Overflows { get; }

    public Counter SocketDrops { get; }

    public Counter SequenceGaps { get; }

    public Counter QueueFull { get; }

    public Counter ReceiveErrors { get; }

    /// <summary>Fork stats not used because the pid belonged to another process by then (the child counts as reaped).</summary>
    public Counter ReusedPidStats { get; }
}
