using Shipper.Module.Monitoring;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Module.System.Process.Ebpf;

/// <summary>The eBPF source's counters (<c>process.*</c>, as the dataset publishes them); the reader only adds.</summary>
public sealed class EbpfSourceMetrics
{
    public EbpfSourceMetrics(MetricsRegistry registry)
    {
        Lost = registry.Counter("process.lost");
        Enrichment = new EnrichmentMetrics(registry);
        Records = registry.Counter("process.ebpf.records");
        RingLost = registry.Counter("process.ebpf.ring_lost");
        QueueFull = registry.Counter("process.ebpf.queue_full");
        Malformed = registry.Counter("process.ebpf.malformed");
        ArgsTruncated = registry.Counter("process.ebpf.args_truncated");
        PathsFromProc = registry.Counter("process.ebpf.paths_from_proc");
        PollErrors = registry.Counter("process.ebpf.poll_errors");
    }

    /// <summary>Every kernel event we know we missed (ring buffer full, queue full). Cumulative.</summary>
    public Counter Lost { get; }

    /// <summary>Failures of the /proc reads that complete a record (cgroup; paths the kernel walk gave up on).</summary>
    public EnrichmentMetrics Enrichment { get; }

    /// <summary>Records read from the ring buffer.</summary>
    public Counter Records { get; }

    /// <summary>Records the kernel could not put in the ring buffer (it was full): part of <see cref="Lost"/>.</summary>
    public Counter RingLost { get; }

    /// <summary>Observations dropped because the tracker's queue was full: part of <see cref="Lost"/>.</summary>
    public Counter QueueFull { get; }

    /// <summary>Records too short for what they say they hold (dropped): part of <see cref="Lost"/>.</summary>
    public Counter Malformed { get; }

    public Counter ArgsTruncated { get; }

    /// <summary>Executables or working directories read from /proc because the kernel's bounded path walk gave up.</summary>
    public Counter PathsFromProc { get; }

    public Counter PollErrors { get; }
}
