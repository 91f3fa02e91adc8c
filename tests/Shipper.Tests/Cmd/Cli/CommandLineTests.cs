using Shipper.Cli;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Cli;

public class CommandLineTests
{
    private const string Valid = """
        shipper.modules:
          - module: system
            datasets: [process]
        output.console:
          enabled: true
        output.elasticsearch:
          enabled: false
          password: hunter2
        """;

    /// <summary>Runs the CLI in this process with captured output, as a user's shell would see it.</summary>
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CommandLine.Run(args, stdout, stderr, Stream.Null);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void TestConfigSaysConfigOk()
    {
        using var config = new TempConfig(Valid);
        var (code, stdout, _) = Run("test", "config", "-c", config.Path);
        Assert.Equal(0, code);
        Assert.Contains("Config OK", stdout);
    }

    [Fact]
    public void TestConfigReportsTheSettingAndPositionAndExitsOne()
    {
        using var config = new TempConfig(Valid + "\nqueue.mem.events: -4\n");
        var (code, stdout, stderr) = Run("test", "config", "-c", config.Path);
        Assert.Equal(1, code);
        Assert.DoesNotContain("Config OK", stdout);
        Assert.Contains("queue.mem.events", stderr);
        Assert.Contains($"{config.Path}:9:", stderr);
        Assert.DoesNotContain("   at ", stderr); // no stack trace for a user error
    }

    [Fact]
    public void OverridesApplyToEveryVerb()
    {
        using var config = new TempConfig(Valid);
        var (code, _, stderr) = Run("test", "config", "-c", config.Path, "-E", "queue.mem.events=abc");
        Assert.Equal(1, code);
        Assert.Contains("-E queue.mem.events", stderr);
    }

    [Fact]
    public void ExportConfigRedactsSecrets()
    {
        using var config = new TempConfig(Valid);
        var (code, stdout, _) = Run("export", "config", "-c", config.Path, "-E", "name=edge-7");
        Assert.Equal(0, code);
        Assert.DoesNotContain("hunter2", stdout);
        Assert.Contains("password: '[redacted]'", stdout.Replace("\"", "'"));
        Assert.Contains("name: edge-7", stdout);
    }

    [Fact]
    public void VersionNamesVersionCommitRuntimeAndPlatform()
    {
        var (code, stdout, _) = Run("version");
        Assert.Equal(0, code);
        Assert.Matches(@"^shipper version \d+\.\d+\.\d+ \(commit [0-9a-z]+\), \.NET \d+\.\d+\.\d+, linux/\w+", stdout);
    }

    [Fact]
    public void UnknownFlagsAndVerbsAreUsageErrors()
    {
        var (code, _, stderr) = Run("--frobnicate");
        Assert.Equal(1, code);
        Assert.Contains("unknown flag --frobnicate", stderr);
        Assert.Contains("Usage:", stderr);

        (code, _, stderr) = Run("launch");
        Assert.Equal(1, code);
        Assert.Contains("unknown command 'launch'", stderr);
    }

    [Fact]
    public void StrictPermsFlagCanBeTurnedOff()
    {
        using var config = new TempConfig(Valid);
        File.SetUnixFileMode(config.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite);
        var (code, _, stderr) = Run("test", "config", "-c", config.Path);
        Assert.Equal(1, code);
        Assert.Contains("chmod go-w", stderr);

        (code, _, _) = Run("test", "config", "-c", config.Path, "--strict.perms=false");
        Assert.Equal(0, code);
    }

    [Fact]
    public void ConfigIsFoundUnderPathConfig()
    {
        using var config = new TempConfig(Valid);
        var (code, stdout, _) = Run("test", "config", "--path.config", config.Directory);
        Assert.Equal(0, code);
        Assert.Contains("Config OK", stdout);
    }

    [Fact]
    public void HelpPrintsUsage()
    {
        var (code, stdout, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("test config", stdout);
    }

    [Fact]
    public void ExportConfigRefusesNestingPastTheLimit()
    {
        using var config = new TempConfig(Valid);
        var (code, stdout, stderr) = Run("export", "config", "-c", config.Path, "-E", "fields.x=" + new string('[', 100) + new string(']', 100));
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Contains("config error in 'fields.x", stderr);
        Assert.Contains($"nested more than {Shipper.Config.ConfigLimits.MaxDepth} levels deep", stderr);
    }
}
