using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class TestHogTests
{
    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void UnsetKnobDoesNothing(string value)
    {
        var log = new CapturedLog();
        Assert.Null(TestHog.StartIfRequested(log.Logger("watchdog"), value));
        Assert.Empty(log.Lines);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("memory:lots")]
    [InlineData("disk")]
    public void AnUnknownKnobIsReportedAndIgnored(string value)
    {
        var log = new CapturedLog();
        Assert.Null(TestHog.StartIfRequested(log.Logger("watchdog"), value));
        Assert.Contains("is not memory:<size>, cpu or crash; ignored", log.Text);
    }
}
