using Shipper.Cli;

namespace Shipper.Tests.Cmd.Cli;

public sealed class CliParserTests
{
    [Fact]
    public void TheWorkersArgumentsKeepEverythingButTheOverrides()
    {
        string[] args = ["run", "-E", "output.elasticsearch.password=hunter2", "-c", "-E", "--E=x=1", "-e", "--E", "y=2", "--path.home", "/opt/s", "-d", "*"];
        var options = CliParser.Parse(args);
        Assert.Equal(["output.elasticsearch.password=hunter2", "x=1", "y=2"], options.Overrides);
        Assert.Equal("-E", options.ConfigFile); // a flag's value, not an override

        var kept = CliParser.WithoutOverrides(args);
        Assert.Equal(["run", "-c", "-E", "-e", "--path.home", "/opt/s", "-d", "*"], kept);
        var again = CliParser.Parse(kept);
        Assert.Empty(again.Overrides);
        Assert.Equal("-E", again.ConfigFile);
        Assert.True(again.LogToStderr);
        Assert.Equal("/opt/s", again.PathHome);
    }
}
