using System.Diagnostics;
using System.Text;
using Shipper.Config;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Config;

/// <summary>
/// Attacks on the config file, run against the real binary (<c>shipper test config -c FILE</c>): each must end
/// at once with exit code 1 and a message naming the problem and the limit, in bounded memory. The child's GC
/// heap is capped, so a bomb that is not stopped dies of OutOfMemory instead of taking the machine's memory.
/// </summary>
public class HostileConfigTests
{
    private const string Minimal = """
        shipper.modules:
          - module: system
            datasets: [process]
        output.console:
          enabled: true

        """;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // 512 MiB of GC heap: ten times what the worst of these needs once bounded.
    private static readonly Dictionary<string, string> CappedHeap = new() { ["DOTNET_GCHeapHardLimit"] = "0x20000000" };

    private readonly ITestOutputHelper _output;

    public HostileConfigTests(ITestOutputHelper output) => _output = output;

    private MeasuredRun.Result TestConfig(string path)
    {
        var result = MeasuredRun.Shipper(Timeout, CappedHeap, "test", "config", "-c", path);
        _output.WriteLine($"exit {result.ExitCode} in {result.Elapsed.TotalSeconds:F2} s, peak RSS {result.PeakRssKiB / 1024} MiB");
        _output.WriteLine(result.Stderr);
        Assert.False(result.TimedOut, $"shipper test config -c {path} still ran after {Timeout}");
        return result;
    }

    private void AssertRefused(MeasuredRun.Result result, params string[] expected)
    {
        Assert.Equal(1, result.ExitCode);
        foreach (var text in expected)
        {
            Assert.Contains(text, result.Stderr);
        }

        Assert.DoesNotContain("   at ", result.Stderr); // a message, not a stack trace
        Assert.True(result.PeakRssKiB < 256 * 1024, $"peak RSS {result.PeakRssKiB} KiB");
    }

    [Fact]
    public void BillionLaughsIsRefusedNamingTheAliasLimit()
    {
        var yaml = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        var previous = 'a';
        foreach (var name in "bcdefghi")
        {
            yaml.Append($"{name}: &{name} [{string.Join(",", Enumerable.Repeat("*" + previous, 9))}]\n");
            previous = name;
        }

        using var config = new TempConfig(yaml.ToString());
        AssertRefused(TestConfig(config.Path), "YAML aliases expand to more than 100000 values", config.Path + ":");
    }

    [Fact]
    public void MapBombIsRefusedNamingTheAliasLimit()
    {
        var yaml = new StringBuilder("a: &a {a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1, h: 1, i: 1}\n");
        var previous = 'a';
        foreach (var name in "bcdefghi")
        {
            yaml.Append($"{name}: &{name} {{{string.Join(", ", "abcdefghi".Select(k => $"{k}: *{previous}"))}}}\n");
            previous = name;
        }

        using var config = new TempConfig(yaml.ToString());
        AssertRefused(TestConfig(config.Path), "YAML aliases expand to more than 100000 values");
    }

    [Fact]
    public void TwentyThousandLevelsUnderAnUnknownKeyAreAnErrorNotACrash()
    {
        using var config = new TempConfig(Minimal + "unknown: " + new string('[', 20_000) + new string(']', 20_000) + "\n");
        AssertRefused(TestConfig(config.Path), "nested more than 32 levels deep", config.Path + ":6:");
    }

    [Fact]
    public void ThreeThousandLevelsInFieldsAreAnErrorNotACrash()
    {
        var yaml = new StringBuilder(Minimal + "fields:\n");
        for (var i = 1; i <= 3_000; i++)
        {
            yaml.Append(' ', i).Append("k:\n");
        }

        using var config = new TempConfig(yaml.Append(' ', 3_001).Append("v\n").ToString());
        AssertRefused(TestConfig(config.Path), "nested more than 32 levels deep");
    }

    [Fact]
    public void FieldsOfOneHundredThousandKeysLoadInLinearTime()
    {
        var yaml = new StringBuilder(Minimal + "fields:\n");
        for (var i = 0; i < 100_000; i++)
        {
            yaml.Append($"  key{i}: value{i}\n");
        }

        using var config = new TempConfig(yaml.ToString());
        var result = TestConfig(config.Path);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Config OK", result.Stdout);
        Assert.True(result.PeakRssKiB < 512 * 1024, $"peak RSS {result.PeakRssKiB} KiB");
    }

    [Fact]
    public void AFifoIsRefusedWithoutWaitingForAWriter()
    {
        using var directory = new TempDirectory();
        var fifo = directory.Combine("shipper.yml");
        using (var mkfifo = Process.Start("mkfifo", new[] { "-m", "600", fifo }))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        AssertRefused(TestConfig(fifo), $"config file {fifo} is a FIFO, not a regular file");
    }

    [Fact]
    public void ADirectoryIsReportedAsADirectory()
    {
        using var directory = new TempDirectory();
        var result = TestConfig(directory.Path);
        AssertRefused(result, $"config file {directory.Path} is a directory, not a regular file");
        Assert.DoesNotContain("denied", result.Stderr);
    }

    [Fact]
    public void ADuplicateKeyNamesBothPositions()
    {
        using var config = new TempConfig(Minimal + "name: one\nname: two\n");
        AssertRefused(TestConfig(config.Path), "duplicate key 'name'", $"{config.Path}:6:1", $"{config.Path}:7:1");
    }

    [Fact]
    public void ADottedAndANestedWritingOfOneSettingNameBothPositions()
    {
        using var config = new TempConfig(Minimal + "queue.mem.events: 100\nqueue:\n  mem:\n    events: 200\n");
        AssertRefused(TestConfig(config.Path), "'queue.mem.events' is set twice", $"{config.Path}:6:1", $"{config.Path}:9:5");
    }

    [Fact]
    public void AFileOverTheSizeLimitIsRefused()
    {
        using var config = new TempConfig(Minimal + "# " + new string('x', ConfigLimits.MaxFileBytes) + "\n");
        AssertRefused(TestConfig(config.Path), $"more than the limit of {ConfigLimits.MaxFileBytes} bytes");
    }
}
