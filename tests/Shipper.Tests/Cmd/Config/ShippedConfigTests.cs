using Shipper.Cli;

namespace Shipper.Tests.Cmd.Config;

/// <summary>The config files we ship must pass `shipper test config` as they are.</summary>
public class ShippedConfigTests
{
    private static string RepoFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Shipper.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        return Path.Combine(dir!.FullName, relative);
    }

    [Theory]
    [InlineData("config/shipper.yml")]
    [InlineData("config/shipper.reference.yml")]
    [InlineData("config/auditbeat-compatible.yml")]
    public void ShippedConfigsAreValid(string file)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CommandLine.Run(new[] { "test", "config", "-c", RepoFile(file), "--strict.perms=false" }, stdout, stderr, Stream.Null);
        Assert.True(code == 0, stderr.ToString());
        Assert.Contains("Config OK", stdout.ToString());
    }
}
