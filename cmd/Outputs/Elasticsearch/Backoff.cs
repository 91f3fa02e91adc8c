namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// Exponential backoff with "equal jitter", as libbeat's: after n consecutive failures the wait is
/// d = min(init·2^(n−1), max), drawn uniformly from [d/2, d], so many shippers do not retry in lockstep.
/// </summary>
public static class Backoff
{
    public static TimeSpan Delay(int failures, TimeSpan init, TimeSpan max, Random random)
    {
        if (failures <= 0)
        {
            return TimeSpan.Zero;
        }

        var ticks = (double)init.Ticks * Math.Pow(2, Math.Min(failures - 1, 40));
        var capped = Math.Min(ticks, max.Ticks);
        var half = capped / 2;
        return TimeSpan.FromTicks((long)(half + (random.NextDouble() * half)));
    }
}
