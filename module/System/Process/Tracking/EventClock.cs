namespace Shipper.Module.System.Process.Tracking;

/// <summary>
/// Turns the proc connector's <c>timestamp_ns</c> (CLOCK_MONOTONIC, which is what
/// <see cref="TimeProvider.GetTimestamp"/> reads on Linux) into wall-clock time, so a document says when the
/// event happened rather than when the tracker got to it.
/// </summary>
public sealed class EventClock
{
    private static readonly long MaxAgeNs = (long)TimeSpan.FromMinutes(10).TotalMilliseconds * 1_000_000;
    private readonly TimeProvider _time;

    public EventClock(TimeProvider time) => _time = time;

    public DateTime ToWallTime(ulong monotonicNs)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (monotonicNs == 0)
        {
            return now;
        }

        var nowNs = MonotonicClock.NowNanoseconds(_time);
        var ageNs = nowNs >= monotonicNs ? (long)Math.Min(nowNs - monotonicNs, (ulong)long.MaxValue) : -1;

        // A timestamp from another clock (or the future) would be nonsense: fall back to "now".
        if (ageNs < 0 || ageNs > MaxAgeNs)
        {
            return now;
        }

        return now.AddTicks(-(ageNs / 100));
    }
}
