using System.Globalization;

namespace Shipper.Module.System.Process.Documents;

/// <summary>
/// Converts <c>/proc/&lt;pid&gt;/stat</c> start times (clock ticks since boot) into Unix nanoseconds, the way
/// quark does: boot time is <c>btime</c> from <c>/proc/stat</c> in whole seconds. That value is the same for
/// every run on one boot, so a process keeps its <c>process.start</c> and <c>entity_id</c> across shipper
/// restarts, and entity ids match Auditbeat's for the same process.
/// </summary>
public sealed class StartTimeClock
{
    public StartTimeClock(long bootTimeUnixNanoseconds, long ticksPerSecond)
    {
        if (ticksPerSecond <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ticksPerSecond), ticksPerSecond, "clock ticks per second must be positive");
        }

        BootTimeUnixNanoseconds = bootTimeUnixNanoseconds;
        TicksPerSecond = ticksPerSecond;
    }

    public long BootTimeUnixNanoseconds { get; }

    public long TicksPerSecond { get; }

    /// <summary>Reads <c>btime</c> from <paramref name="procStatPath"/>; throws <see cref="IOException"/> naming the file when it is missing or malformed.</summary>
    public static StartTimeClock FromProcStat(long ticksPerSecond, string procStatPath = "/proc/stat")
    {
        foreach (var line in File.ReadLines(procStatPath))
        {
            if (line.StartsWith("btime ", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                && seconds > 0)
            {
                return new StartTimeClock(seconds * 1_000_000_000, ticksPerSecond);
            }
        }

        throw new IOException($"{procStatPath} has no valid 'btime' line: cannot compute process start times");
    }

    /// <summary>
    /// The start from the kernel's nanoseconds since boot when known (eBPF backend: quark's kernel_tracing computes
    /// the same sum, so entity ids match it), else from the clock ticks.
    /// </summary>
    public long ToUnixNanoseconds(ulong ticks, ulong bootNanoseconds) =>
        bootNanoseconds != 0 ? BootTimeUnixNanoseconds + (long)bootNanoseconds : ToUnixNanoseconds(ticks);

    public long ToUnixNanoseconds(ulong ticks)
    {
        var whole = (long)(ticks / (ulong)TicksPerSecond);
        var rest = (long)(ticks % (ulong)TicksPerSecond);
        return BootTimeUnixNanoseconds + (whole * 1_000_000_000) + (rest * 1_000_000_000 / TicksPerSecond);
    }
}
