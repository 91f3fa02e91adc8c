using Shipper.Module.System.Process.Tracking;

namespace Shipper.Tests.Module.System.Process.Tracking;

public class HoldPolicyTests
{
    [Theory]
    [InlineData(0, 1000)]
    [InlineData(999, 1000)]   // under 10 %: the full hold
    [InlineData(1000, 1000)]  // 10 %: still full
    [InlineData(5000, 550)]   // half way between 10 % and 90 %: between 1000 and 100
    [InlineData(8999, 100)]   // just under 90 %: ~100 ms
    [InlineData(9000, 0)]     // 90 % and above: no hold
    [InlineData(10000, 0)]
    public void ShrinksAsTheTableFills(int count, int expectedMs)
    {
        var target = HoldPolicy.Target(TimeSpan.FromSeconds(1), count, 10_000);
        Assert.InRange(target.TotalMilliseconds, expectedMs - 1, expectedMs + 1);
    }

    [Fact]
    public void ZeroHoldStaysZero() => Assert.Equal(TimeSpan.Zero, HoldPolicy.Target(TimeSpan.Zero, 0, 100));
}
