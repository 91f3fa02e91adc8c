namespace Shipper.Module.System.Process.Ebpf;

/// <summary>How the eBPF source is set up (<c>process.ebpf.*</c>).</summary>
public sealed record EbpfSourceOptions
{
    public const int DefaultMaxArgsBytes = 16 * 1024;
    public const int MinMaxArgsBytes = 4 * 1024;
    public const int MaxMaxArgsBytes = 1024 * 1024;
    public const long DefaultRingBufferBytes = 8L * 1024 * 1024;

    /// <summary><c>process.ebpf.max_args_bytes</c>: most bytes of the argument area copied at each exec.</summary>
    public int MaxArgsBytes { get; init; } = DefaultMaxArgsBytes;

    /// <summary><c>process.ebpf.ring_buffer_size</c>: the kernel's ring buffer in bytes (a power of two, whole pages).</summary>
    public long RingBufferBytes { get; init; } = DefaultRingBufferBytes;

    /// <summary>Observations queued for the tracker before further ones are dropped and counted.</summary>
    public int ChannelCapacity { get; init; } = Netlink.NetlinkSourceOptions.DefaultChannelCapacity;

    /// <summary>
    /// How long the reader waits in the ring buffer at most. Exec records wake it at once; forks and exits are
    /// written without a wake-up (they need nothing from /proc) and are collected by the next wake-up or by this.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Where the container (<c>cgroup</c>) and path fallbacks are read.</summary>
    public string ProcRoot { get; init; } = "/proc";

    /// <summary>The program to load instead of the embedded one (tests: a program the verifier must refuse).</summary>
    internal byte[]? ObjectOverride { get; init; }
}
