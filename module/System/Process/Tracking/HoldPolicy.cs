namespace Shipper.Module.System.Process.Tracking;

/// <summary>
/// How long events are held for folding, as quark does: the full hold time while the table is under 10 % full,
/// shrinking linearly to a tenth of it (~100 ms for the default 1 s) at 90 %, and no hold at all above, so a
/// filling table drains instead of growing.
/// </summary>
public static class HoldPolicy
{
    public static TimeSpan Target(TimeSpan holdTime, int count, int capacity)
    {
        if (holdTime <= TimeSpan.Zero || capacity <= 0)
        {
            return TimeSpan.Zero;
        }

        var fill = (double)count / capacity;
        if (fill < 0.1)
        {
            return holdTime;
        }

        if (fill >= 0.9)
        {
            return TimeSpan.Zero;
        }

        var floor = holdTime / 10;
        var share = (fill - 0.1) / 0.8;
        return holdTime - ((holdTime - floor) * share);
    }
}
