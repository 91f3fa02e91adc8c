using Shipper.Module.Config;

namespace Shipper.Module.System.Process;

/// <summary>
/// The <c>system/process</c> settings of one module entry. <c>process.hash.*</c> belongs to the executable
/// hasher and is parsed there.
/// </summary>
public sealed class ProcessSettings
{
    public static readonly TimeSpan DefaultStatePeriod = TimeSpan.FromHours(12);
    public static readonly TimeSpan DefaultHoldTime = TimeSpan.FromSeconds(1);
    public const int DefaultMaxTracked = 65_536;
    public static readonly TimeSpan DefaultCacheGraceTime = TimeSpan.FromSeconds(4);
    public const long DefaultReceiveBuffer = 4L * 1024 * 1024;
    public static readonly TimeSpan DefaultProcfsPeriod = TimeSpan.FromSeconds(1);

    /// <summary>
    /// <c>period</c>: Auditbeat's fetch interval. Only the procfs backend polls, so it is that backend's poll
    /// interval (as in Auditbeat's procfs provider); the netlink backend is pushed every event by the kernel, and
    /// <see cref="Warnings"/> says so.
    /// </summary>
    public TimeSpan? Period { get; init; }

    /// <summary>Settings that do less than a user may expect, for <c>test config</c> and the start-up log.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary><c>state.period</c>: how often every running process is reported again as state.</summary>
    public TimeSpan StatePeriod { get; init; } = DefaultStatePeriod;

    public ProcessBackend Backend { get; init; } = ProcessBackend.Auto;

    /// <summary><c>process.hold_time</c>: how long events of one pid wait to be folded into one document.</summary>
    public TimeSpan HoldTime { get; init; } = DefaultHoldTime;

    /// <summary><c>process.max_tracked</c>: the bound of the process table (live and recently exited).</summary>
    public int MaxTracked { get; init; } = DefaultMaxTracked;

    /// <summary><c>process.cache_grace_time</c>: how long an exited process stays findable as a parent.</summary>
    public TimeSpan CacheGraceTime { get; init; } = DefaultCacheGraceTime;

    /// <summary><c>process.netlink.receive_buffer</c>: socket receive buffer in bytes.</summary>
    public long NetlinkReceiveBuffer { get; init; } = DefaultReceiveBuffer;

    /// <summary><c>process.netlink.realtime</c>: run the netlink reader thread at real-time priority when permitted.</summary>
    public bool NetlinkRealtime { get; init; } = true;

    /// <summary><c>process.netlink.kernel_filter</c>: ask the kernel (6.6+) for only the event types we use.</summary>
    public bool NetlinkKernelFilter { get; init; } = true;

    /// <summary><c>process.netlink.fork_sample</c>: <c>full</c> reads all of /proc/&lt;pid&gt; at fork, not only stat.</summary>
    public bool NetlinkFullForkSample { get; init; }

    /// <summary><c>process.max_args_bytes</c>: most bytes of /proc/&lt;pid&gt;/cmdline read and put into <c>process.args</c>.</summary>
    public int MaxArgsBytes { get; init; } = Procfs.ProcReader.DefaultMaxArgsBytes;

    /// <summary><c>process.ebpf.max_args_bytes</c>: most bytes of arguments the BPF program copies at each exec.</summary>
    public int EbpfMaxArgsBytes { get; init; } = Ebpf.EbpfSourceOptions.DefaultMaxArgsBytes;

    /// <summary><c>process.ebpf.ring_buffer_size</c>: the BPF ring buffer in bytes.</summary>
    public long EbpfRingBufferBytes { get; init; } = Ebpf.EbpfSourceOptions.DefaultRingBufferBytes;

    /// <summary><c>process.procfs.period</c>: the poll interval of the procfs backend.</summary>
    public TimeSpan ProcfsPeriod { get; init; } = DefaultProcfsPeriod;

    public static ProcessSettings Parse(ConfigSection moduleEntry)
    {
        var backendName = moduleEntry.Choice("process.backend", "auto", "auto", "ebpf", "kernel_tracing", "netlink", "procfs");
        var (period, procfsPeriod, warnings) = ParsePeriods(moduleEntry, backendName);
        var ebpfMaxArgsBytes = (int)moduleEntry.Size("process.ebpf.max_args_bytes", Ebpf.EbpfSourceOptions.DefaultMaxArgsBytes, min: Ebpf.EbpfSourceOptions.MinMaxArgsBytes, max: Ebpf.EbpfSourceOptions.MaxMaxArgsBytes);
        var ebpfRingBufferBytes = ParseRingBuffer(moduleEntry);
        var largestRecord = Ebpf.EbpfRecord.HeaderSize + Ebpf.EbpfRecord.PathsSize + ebpfMaxArgsBytes;
        if (ebpfRingBufferBytes < 4L * largestRecord && moduleEntry.Has("process.ebpf.ring_buffer_size"))
        {
            warnings.Add($"{moduleEntry.Path}.process.ebpf.ring_buffer_size ({moduleEntry.Find("process.ebpf.ring_buffer_size")!.Location}) holds fewer than four of the largest exec records " +
                         $"({largestRecord} bytes with process.ebpf.max_args_bytes {ebpfMaxArgsBytes}): bursts of execs with long command lines will be lost (counted in process.lost)");
        }

        return new ProcessSettings
        {
            Period = period,
            Warnings = warnings,
            StatePeriod = moduleEntry.Duration("state.period", DefaultStatePeriod, min: TimeSpan.FromSeconds(1), max: TimeSpan.FromDays(366)),
            Backend = backendName switch
            {
                "ebpf" => ProcessBackend.Ebpf,
                "kernel_tracing" => ProcessBackend.KernelTracing,
                "netlink" => ProcessBackend.Netlink,
                "procfs" => ProcessBackend.Procfs,
                _ => ProcessBackend.Auto,
            },
            HoldTime = moduleEntry.Duration("process.hold_time", DefaultHoldTime, min: TimeSpan.Zero, max: TimeSpan.FromSeconds(30)),
            MaxTracked = moduleEntry.Int("process.max_tracked", DefaultMaxTracked, min: 64, max: 4_194_304),
            CacheGraceTime = moduleEntry.Duration("process.cache_grace_time", DefaultCacheGraceTime, min: TimeSpan.Zero, max: TimeSpan.FromMinutes(10)),
            NetlinkReceiveBuffer = moduleEntry.Size("process.netlink.receive_buffer", DefaultReceiveBuffer, min: 64 * 1024, max: 1L << 30),
            NetlinkRealtime = moduleEntry.Bool("process.netlink.realtime", true),
            NetlinkKernelFilter = moduleEntry.Bool("process.netlink.kernel_filter", true),
            NetlinkFullForkSample = moduleEntry.Choice("process.netlink.fork_sample", "stat", "stat", "full") == "full",
            MaxArgsBytes = (int)moduleEntry.Size("process.max_args_bytes", Procfs.ProcReader.DefaultMaxArgsBytes, min: 1024, max: 16 * 1024 * 1024),
            EbpfMaxArgsBytes = ebpfMaxArgsBytes,
            EbpfRingBufferBytes = ebpfRingBufferBytes,
            ProcfsPeriod = procfsPeriod,
        };
    }

    private static long ParseRingBuffer(ConfigSection moduleEntry)
    {
        var bytes = moduleEntry.Size("process.ebpf.ring_buffer_size", Ebpf.EbpfSourceOptions.DefaultRingBufferBytes, min: 4096, max: 1L << 30);
        if ((bytes & (bytes - 1)) != 0)
        {
            throw moduleEntry.Error("process.ebpf.ring_buffer_size", $"must be a power of two (the kernel's ring buffer is), e.g. 8MiB; {bytes} bytes is not");
        }

        return bytes;
    }

    private static (TimeSpan? Period, TimeSpan ProcfsPeriod, List<string> Warnings) ParsePeriods(ConfigSection moduleEntry, string backendName)
    {
        var min = TimeSpan.FromMilliseconds(100);
        var max = TimeSpan.FromHours(1);
        var warnings = new List<string>();
        var procfsPeriod = moduleEntry.Duration("process.procfs.period", DefaultProcfsPeriod, min, max);
        if (!moduleEntry.Has("period"))
        {
            moduleEntry.Consume("period");
            return (null, procfsPeriod, warnings);
        }

        var period = moduleEntry.Duration("period", DefaultProcfsPeriod, min, max);
        if (moduleEntry.Has("process.procfs.period"))
        {
            throw moduleEntry.Error("period", "period and process.procfs.period both set the procfs poll interval; keep one");
        }

        var where = moduleEntry.Find("period")!.Location;
        switch (backendName)
        {
            case "ebpf" or "netlink" or "kernel_tracing":
                warnings.Add($"{moduleEntry.Path}.period ({where}) has no effect with process.backend {backendName}: the kernel pushes every event; state.period sets how often running processes are reported again");
                break;
            case "auto":
                warnings.Add($"{moduleEntry.Path}.period ({where}) is the poll interval only if process.backend auto falls back to procfs; with ebpf or netlink the kernel pushes every event");
                break;
        }

        return (period, period, warnings);
    }
}
