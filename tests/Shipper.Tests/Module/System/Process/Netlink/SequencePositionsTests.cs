using Shipper.Module.System.Process.Netlink;

namespace Shipper.Tests.Module.System.Process.Netlink;

public sealed class SequencePositionsTests
{
    [Fact]
    public void TheFirstNumberOnEachInheritedCpuCountsWhatThePreviousWorkerNeverRead()
    {
        var positions = new SequencePositions();
        Assert.True(positions.TryInherit("0:100,2:4294967290", out var error), error);

        Assert.Equal(49, positions.Observe(0, 150, deferredSocket: false)); // 101..149
        Assert.Equal(0, positions.Observe(0, 152, deferredSocket: false)); // only the first number is compared
        Assert.Equal(10, positions.Observe(2, 5, deferredSocket: true)); // 4294967291..4294967295, 0..4: wraps
        Assert.Equal(0, positions.Observe(1, 7, deferredSocket: false)); // not inherited
        Assert.Equal("0:152,1:7,2:5", positions.Encode());
    }

    [Fact]
    public void APositionAtOrBehindTheInheritedOneIsNoLoss()
    {
        var positions = new SequencePositions();
        Assert.True(positions.TryInherit("0:100,1:100", out _));
        Assert.Equal(0, positions.Observe(0, 101, deferredSocket: false));
        Assert.Equal(0, positions.Observe(1, 90, deferredSocket: false));
    }

    [Fact]
    public void WithTwoSocketsTheCpuReportsTheSocketFurtherBehindAndUnheardCpusKeepTheirInheritedPosition()
    {
        var positions = new SequencePositions();
        Assert.True(positions.TryInherit("5:40", out _));
        positions.Observe(0, 30, deferredSocket: false);
        positions.Observe(0, 27, deferredSocket: true); // forks and exits, read at the next drain
        Assert.Equal("0:27,5:40", positions.Encode());
    }

    [Theory]
    [InlineData("0-1")]
    [InlineData("x:1")]
    [InlineData("1:-3")]
    [InlineData("70000:1")]
    public void MalformedPositionsAreRefused(string text)
    {
        Assert.False(new SequencePositions().TryInherit(text, out var error));
        Assert.Contains("is not cpu:sequence", error);
    }
}
