using Shipper.Module.System.Process.Procfs;

namespace Shipper.Tests.Module.System.Process.Procfs;

public class BootClockTests
{
    [Fact]
    public void StartTimeIsBootTimePlusTicks()
    {
        var clock = new BootClock(bootTimeUnixNanoseconds: 1_700_000_000_123_456_789, monotonicOffsetNanoseconds: 0, clockTicksPerSecond: 100);
        Assert.Equal(1_700_000_000_123_456_789 + 12_340_000_000, clock.StartTimeUnixNanoseconds(1234));
        Assert.Equal(1_700_000_000_123_456_789, clock.StartTimeUnixNanoseconds(0));

        var odd = new BootClock(0, 0, 3);
        Assert.Equal(333_333_333, odd.StartTimeUnixNanoseconds(1));
        Assert.Equal(1_333_333_333, odd.StartTimeUnixNanoseconds(4));
    }

    [Fact]
    public void ConnectorTimestampsAreMonotonicPlusOffset()
    {
        var clock = new BootClock(0, monotonicOffsetNanoseconds: 1_000_000_000_000_000_000, clockTicksPerSecond: 100);
        Assert.Equal(1_000_000_000_000_000_500, clock.EventTimeUnixNanoseconds(500));
        Assert.Equal(DateTime.UnixEpoch.AddTicks(10_000_000_000_000_000 + 5), clock.EventTimeUtc(500));
    }

    [Fact]
    public void AForkTimestampGivesTheStartTickCountingSuspendedTime()
    {
        // Booted at 1,700,000,000 s; the machine was suspended 5 s, so BOOTTIME runs 5 s ahead of MONOTONIC.
        const long Boot = 1_700_000_000_000_000_000;
        var clock = new BootClock(Boot, monotonicOffsetNanoseconds: Boot + 5_000_000_000, clockTicksPerSecond: 100);
        Assert.Equal(600UL, clock.StartTimeTicksAt(1_000_000_000));      // 1 s monotonic = 6 s since boot
        Assert.Equal(1734UL, clock.StartTimeTicksAt(12_345_678_901));    // 17.345678901 s: tick 1734, cut not rounded
        Assert.Equal(1734UL, clock.StartTimeTicksAt(12_349_999_999));
        Assert.Equal(1735UL, clock.StartTimeTicksAt(12_350_000_000));
        Assert.Equal(0UL, new BootClock(Boot, Boot - 1_000_000_000, 100).StartTimeTicksAt(500)); // before boot: unknown

        var odd = new BootClock(0, 0, 3);
        Assert.Equal(4UL, odd.StartTimeTicksAt(1_400_000_000));
    }

    [Fact]
    public void MeasuredBootTimeAgreesWithTheKernel()
    {
        var clock = BootClock.Measure();
        var btime = File.ReadLines("/proc/stat").First(l => l.StartsWith("btime ", StringComparison.Ordinal));
        var kernelBootSeconds = long.Parse(btime[6..]);

        // The kernel truncates the same difference (REALTIME - BOOTTIME) to whole seconds.
        Assert.InRange(clock.BootTimeUnixNanoseconds / 1_000_000_000 - kernelBootSeconds, -1, 1);
        Assert.Equal(100, clock.ClockTicksPerSecond);
    }

    [Fact]
    public void RepeatedMeasurementsAgreeToWellUnderATick()
    {
        var a = BootClock.Measure();
        var b = BootClock.Measure();
        Assert.InRange(Math.Abs(a.BootTimeUnixNanoseconds - b.BootTimeUnixNanoseconds), 0, 1_000_000);
        Assert.InRange(Math.Abs(a.MonotonicOffsetNanoseconds - b.MonotonicOffsetNanoseconds), 0, 1_000_000);
    }

    [Fact]
    public void OurOwnStartTimeAndNowAreWhereTheyShouldBe()
    {
        var clock = BootClock.Shared;
        using var reader = new ProcReader();
        Assert.True(reader.TryReadStat(Environment.ProcessId, out var stat));

        var start = clock.StartTimeUtc(stat.StartTimeTicks);
        var expected = global::System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();
        Assert.InRange((start - expected).Duration(), TimeSpan.Zero, TimeSpan.FromSeconds(1));

        var now = clock.EventTimeUtc(BootClock.MonotonicNowNanoseconds());
        Assert.InRange((now - DateTime.UtcNow).Duration(), TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.Same(clock, BootClock.Shared);
    }
}
