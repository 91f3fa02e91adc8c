using Shipper.Module.Config;

namespace Shipper.Tests.Module.Config;

public class ValueParsersTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("10s", 10_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("12h", 43_200_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("30", 30_000)]
    public void ParsesDurationsLikeBeats(string text, long expectedMs)
    {
        Assert.True(ValueParsers.TryParseDuration(text, out var value));
        Assert.Equal(expectedMs, (long)value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("10 parsecs")]
    [InlineData("-5s")]
    [InlineData("s")]
    [InlineData("")]
    public void RejectsBadDurations(string text) => Assert.False(ValueParsers.TryParseDuration(text, out _));

    [Theory]
    [InlineData("1048576", 1048576)]
    [InlineData("100 MiB", 104857600)]
    [InlineData("50mb", 50_000_000)]
    [InlineData("4KiB", 4096)]
    [InlineData("1.5 GB", 1_500_000_000)]
    public void ParsesSizesLikeBeats(string text, long expected)
    {
        Assert.True(ValueParsers.TryParseSize(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("ten MB")]
    [InlineData("5 parsecs")]
    [InlineData("")]
    public void RejectsBadSizes(string text) => Assert.False(ValueParsers.TryParseSize(text, out _));
}
