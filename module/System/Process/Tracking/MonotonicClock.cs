namespace Shipper.Module.System.Process.Tracking;

/// <summary>
/// "Now" on the proc connector's clock (CLOCK_MONOTONIC nanoseconds), read through the injected
/// <see cref="TimeProvider"/>: the system provider's timestamp is CLOCK_MONOTONIC in nanoseconds on Linux.
/// </summary>
public static class MonotonicClock
{
    public static ulong NowNanoseconds(TimeProvider time)
    {
        var ticks = time.GetTimestamp();
        var frequency = time.TimestampFrequency;
        if (frequency == 1_000_000_000)
        {
            return ticks < 0 ? 0 : (ulong)ticks;
        }

        // Other providers (test clocks) may count from far away: saturate rather than overflow.
        var ns = (double)ticks * (1e9 / frequency);
        return ns <= 0 ? 0 : ns >= ulong.MaxValue ? ulong.MaxValue : (ulong)ns;
    }
}
