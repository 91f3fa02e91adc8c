using Shipper.Module.System.Process.Netlink;

namespace Shipper.Tests.Module.System.Process.Netlink;

public class SequenceTrackerTests
{
    [Fact]
    public void CountsGapsPerCpu()
    {
        var tracker = new SequenceTracker();
        Assert.Equal(0, tracker.Observe(0, 10));
        Assert.Equal(0, tracker.Observe(1, 500));
        Assert.Equal(0, tracker.Observe(0, 11));
        Assert.Equal(3, tracker.Observe(0, 15));
        Assert.Equal(0, tracker.Observe(1, 501));
        Assert.Equal(1, tracker.Observe(1, 503));
    }

    [Fact]
    public void HandlesWraparoundAndOldMessages()
    {
        var tracker = new SequenceTracker();
        tracker.Observe(0, uint.MaxValue - 1);
        Assert.Equal(0, tracker.Observe(0, uint.MaxValue));
        Assert.Equal(0, tracker.Observe(0, 0));
        Assert.Equal(1, tracker.Observe(0, 2));
        Assert.Equal(0, tracker.Observe(0, 1)); // older than the last one: not a loss
    }

    [Fact]
    public void GrowsForHighCpuNumbersAndIgnoresAbsurdOnes()
    {
        var tracker = new SequenceTracker();
        Assert.Equal(0, tracker.Observe(1000, 1));
        Assert.Equal(4, tracker.Observe(1000, 6));
        Assert.Equal(0, tracker.Observe(uint.MaxValue, 1));
        Assert.Equal(0, tracker.Observe(uint.MaxValue, 100));
    }

    [Fact]
    public void ResetForgetsPositions()
    {
        var tracker = new SequenceTracker();
        tracker.Observe(0, 1);
        tracker.Reset();
        Assert.Equal(0, tracker.Observe(0, 50));
    }
}
