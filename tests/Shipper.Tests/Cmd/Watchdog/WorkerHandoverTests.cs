using System.Text;
using Shipper.Tests.Support;
using Shipper.Watchdog;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Watchdog;

/// <summary>
/// <c>-E</c> overrides reach the worker over its link to the watcher, never through its argv or environment,
/// where every user of the host (and the shipper's own process documents) could read a password.
/// </summary>
public sealed class WorkerHandoverTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;
    private readonly TempConfig _config = new("");

    public WorkerHandoverTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _config.Dispose();

    [Fact]
    public void OverridesReachTheWorkerButNotItsCommandLineEnvironmentOrTheWatchersLog()
    {
        File.WriteAllText(_config.Path, $"""
            {TempConfig.ProcessesToConsole}
            watchdog:
              interval: 200ms
            """);
        // Observable only if honoured: the worker logs metrics every second. The marker stands for a password.
        const string marker = "s3cret-marker-7Q";
        using var shipper = ShipperProcess.Start(_config.Path, _config.Directory, _output, extraArgs:
        [
            "-E", "logging.metrics.enabled=true", "--E=logging.metrics.period=1s", "-E", $"tags=[\"{marker}\"]",
        ]);
        var worker = shipper.WaitForWorker(0, Patience);
        shipper.Log.WaitFor("Non-zero metrics in the last 1s", Patience);

        var cmdline = Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{worker}/cmdline")).Replace('\0', ' ');
        var environ = Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{worker}/environ")).Replace('\0', ' ');
        _output.WriteLine($"worker cmdline: {cmdline}");
        foreach (var secret in new[] { marker, "logging.metrics", "-E" })
        {
            Assert.DoesNotContain(secret, cmdline);
            Assert.DoesNotContain(secret, environ);
        }

        var supervising = shipper.Log.WaitFor("supervising worker", TimeSpan.Zero);
        Assert.DoesNotContain(marker, supervising);
        Assert.DoesNotContain("logging.metrics", supervising);
        Assert.Contains("handed 3 override(s)", shipper.Log.Text);
        Assert.DoesNotContain(marker, shipper.Log.Text);
    }

    [Fact]
    public void TheHandoverKeepsEveryOverrideAsWritten()
    {
        var handover = new WorkerHandover(["a.b=1", "x=line\nbreak", "p=pass word%;="], "0:17,3:4294967295");
        var lines = new Queue<string>(handover.Encode().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(WorkerHandover.TryDecode(() => lines.Count > 0 ? lines.Dequeue() : null, out var decoded, out var error), error);
        Assert.Equal(handover.Overrides, decoded.Overrides);
        Assert.Equal(handover.Positions, decoded.Positions);
        Assert.DoesNotContain("pass", decoded.ToString());
    }

    [Fact]
    public void ATruncatedOrForeignHandoverIsRefusedWithoutEchoingIt()
    {
        var lines = new Queue<string>(["override a%3Db"]);
        Assert.False(WorkerHandover.TryDecode(() => lines.Count > 0 ? lines.Dequeue() : null, out _, out var error));
        Assert.Contains("ended after 1 line(s)", error);

        lines = new Queue<string>(["password=hunter2"]);
        Assert.False(WorkerHandover.TryDecode(() => lines.Count > 0 ? lines.Dequeue() : null, out _, out error));
        Assert.Contains("line 1", error);
        Assert.DoesNotContain("hunter2", error);
    }
}
