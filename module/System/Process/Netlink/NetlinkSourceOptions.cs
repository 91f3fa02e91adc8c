using Shipper.Module.System.Process.Procfs;

namespace Shipper.Module.System.Process.Netlink;

/// <summary>Settings of <see cref="NetlinkProcEventSource"/>; the dataset reads them from <c>process.netlink.*</c>.</summary>
public sealed record NetlinkSourceOptions
{
    public const int DefaultReceiveBuffer = 4 * 1024 * 1024;
    public const int DefaultChannelCapacity = 65536;
    public const int DefaultRealtimePriority = 10;

    /// <summary>
    /// <c>process.netlink.receive_buffer</c>: the socket receive buffer in bytes. Set with SO_RCVBUFFORCE
    /// (root: not capped by net.core.rmem_max), else SO_RCVBUF. The kernel doubles the value for bookkeeping.
    /// </summary>
    public int ReceiveBuffer { get; init; } = DefaultReceiveBuffer;

    /// <summary><c>process.netlink.realtime</c>: run the reader thread at SCHED_FIFO when permitted.</summary>
    public bool Realtime { get; init; } = true;

    /// <summary>SCHED_FIFO priority for the reader: low (1–99 scale) so it preempts normal work, not the kernel's.</summary>
    public int RealtimePriority { get; init; } = DefaultRealtimePriority;

    /// <summary>Bound of the queue to the tracker; when full, events are dropped and counted, never waited for.</summary>
    public int ChannelCapacity { get; init; } = DefaultChannelCapacity;

    /// <summary>
    /// <c>process.netlink.kernel_filter</c>: ask the kernel (6.6+) to send only the event types we use. The
    /// kernel numbers messages before filtering, so with the filter on, sequence gaps cannot tell loss from
    /// filtered events; loss is then measured from the socket's drop counter (SO_MEMINFO) and ENOBUFS only.
    /// </summary>
    public bool KernelFilter { get; init; } = true;

    /// <summary>
    /// With the kernel filter, subscribe exits on a second socket that the reader drains every
    /// <see cref="NetlinkProcEventSource.ExitDrainIntervalMs"/> ms instead of waking for each. An exit needs no
    /// /proc read (its status is in the event), so it can wait; a fork and an exec cannot. In a process storm this
    /// saves one reader wake-up in three. Tests and the benchmark turn it off to compare.
    /// </summary>
    public bool DeferExits { get; init; } = true;

    /// <summary>
    /// With <see cref="DeferExits"/>, forks go to the second socket too (not with <see cref="FullSampleOnFork"/>).
    /// The reader drains it whenever an exec wakes it, so a child that execs is read once, at its exec, for both
    /// events; a child that does not is read when its fork is drained (at the next exec anywhere, or within a
    /// receive timeout), and if it was reaped by then its start time comes from the fork event. Saves another
    /// wake-up and a /proc read per process.
    /// </summary>
    public bool DeferForks { get; init; } = true;

    /// <summary>
    /// <c>process.netlink.fork_sample: full</c>: read all of /proc/&lt;pid&gt; at fork as at exec. Off (the
    /// default), a fork reads only <c>stat</c> (<see cref="ProcessSample.StatOnly"/>): the rest is a copy of the
    /// parent at that moment, and skipping it roughly halves the reader's /proc work in a process storm.
    /// </summary>
    public bool FullSampleOnFork { get; init; }

    /// <summary>Root of the proc filesystem (tests point it elsewhere).</summary>
    public string ProcRoot { get; init; } = "/proc";

    /// <summary><c>process.max_args_bytes</c>: where command lines are cut.</summary>
    public int MaxArgsBytes { get; init; } = ProcReader.DefaultMaxArgsBytes;
}
