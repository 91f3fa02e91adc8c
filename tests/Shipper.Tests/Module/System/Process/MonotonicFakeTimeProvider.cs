using Microsoft.Extensions.Time.Testing;

namespace Shipper.Tests.Module.System.Process;

/// <summary>
/// A fake clock whose timestamps start near zero, like CLOCK_MONOTONIC after boot, so kernel-style event
/// timestamps (nanoseconds in a ulong) can be derived from it. Timers still follow the fake time.
/// </summary>
public sealed class MonotonicFakeTimeProvider : FakeTimeProvider
{
    private readonly long _origin;

    public MonotonicFakeTimeProvider(DateTimeOffset start)
        : base(start)
    {
        _origin = base.GetTimestamp() - TimeSpan.TicksPerSecond;
    }

    public override long GetTimestamp() => base.GetTimestamp() - _origin;

    /// <summary>Now in kernel event nanoseconds.</summary>
    public ulong NowNanoseconds => (ulong)GetTimestamp() * (ulong)(1_000_000_000 / TimestampFrequency);
}
