using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Shipper.Tests.Support;
using Shipper.Watchdog;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Watchdog;

/// <summary>
/// <c>shipper run</c> as built, as real processes: the watcher, the worker it starts (the same binary), and
/// the test-only hog knob that makes the worker misbehave (in the copy built with test hooks; the default
/// build must ignore it). Short intervals and delays keep each test to a few seconds.
/// </summary>
public sealed class WatchdogEndToEndTests : IDisposable
{
    private const int SIGKILL = 9;
    private const int SIGTERM = 15;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly ITestOutputHelper _output;
    private readonly TempConfig _config;

    public WatchdogEndToEndTests(ITestOutputHelper output)
    {
        _output = output;
        _config = new TempConfig("");
    }

    public void Dispose() => _config.Dispose();

    /// <param name="hog">A SHIPPER_TEST_HOG value; the binary is then the one built with test hooks unless <paramref name="shipped"/>.</param>
    private ShipperProcess Start(string watchdogYaml, string? hog = null, bool viaDotnetHost = false, bool shipped = false, params string[] extraArgs)
    {
        File.WriteAllText(_config.Path, $"""
            {TempConfig.ProcessesToConsole}
            watchdog:
            {Indent(watchdogYaml)}
            """);
        var environment = hog is null ? null : new Dictionary<string, string> { [TestHog.EnvironmentVariable] = hog };
        var directory = hog is null || shipped ? null : ShipperWithTestHooks.Directory;
        return ShipperProcess.Start(_config.Path, _config.Directory, _output, environment, viaDotnetHost, directory, extraArgs);
    }

    private static string Indent(string yaml) =>
        string.Join('\n', yaml.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l.Trim()));

    /// <param name="watched">
    /// With a watcher, its exit code is 0. Without one the code is the pipeline's own, which is not ours to
    /// test here (ShipperWorker.RunAsync can report 2 when a dataset finishes in the same instant as the stop).
    /// </param>
    private static void AssertStopsCleanly(ShipperProcess shipper, bool watched = true)
    {
        var workers = shipper.WorkerPids();
        shipper.Signal(SIGTERM);
        Assert.True(shipper.WaitForExit(Patience), "the shipper did not exit after SIGTERM");
        if (watched)
        {
            Assert.Equal(0, shipper.ExitCode);
        }

        foreach (var pid in workers)
        {
            Assert.True(ShipperProcess.IsGone(pid), $"worker {pid} outlived its watcher");
        }
    }

    [Fact]
    public void AMemoryHogIsStoppedWithItsFiguresAndRespawnedWithTheCountersPassedOn()
    {
        using var shipper = Start("""
            interval: 200ms
            delay: 0
            memory_limit: 50
            respawn_delay: 0
            forced_shutdown_delay: 2s
            """, hog: "memory:300MB");

        var first = shipper.WaitForWorker(0, Patience);
        var stopping = shipper.Log.WaitFor($"worker ({first}) stopping: memory", Patience);
        Assert.Matches(new Regex($@"WARN\twatcher \[watchdog\]\tworker \({first}\) stopping: memory [\d.]+ MB resident is [\d.]+ MB above its initial [\d.]+ MB, over watchdog\.memory_limit 50 MB$"), stopping);

        // SIGUSR1 first: the worker logs its diagnostic snapshot, then drains on SIGTERM.
        shipper.Log.WaitFor($"diagnostic snapshot (SIGUSR1), pid {first}", Patience);
        shipper.Log.WaitFor("received SIGTERM, shutting down", Patience);
        shipper.Log.WaitFor($"worker ({first}) stopped with exit code", Patience);

        var second = shipper.WaitForWorker(1, Patience);
        Assert.NotEqual(first, second);
        Assert.True(ShipperProcess.IsGone(first));

        // The new worker knows the history: its own snapshot, when it is stopped in turn, shows the counters.
        var metrics = shipper.Log.WaitFor(l => l.Contains("diagnostics: metrics:") && l.Contains("watchdog.worker_restarts=1"), "second worker's metrics", Patience);
        Assert.Contains("watchdog.kills_memory=1", metrics);
        Assert.Contains("watchdog.kills_cpu=0", metrics);
        Assert.Contains("watchdog.last_kill_reason=\"memory ", metrics);

        AssertStopsCleanly(shipper);
    }

    [Fact]
    public void ACpuHogIsStoppedAfterTheLatencyLimitNotBefore()
    {
        using var shipper = Start("""
            interval: 200ms
            delay: 0
            utilization_limit: 3
            latency_limit: 1s
            respawn_delay: 0
            forced_shutdown_delay: 2s
            """, hog: "cpu");

        var pid = shipper.WaitForWorker(0, Patience);
        var started = shipper.Log.WaitFor($"worker ({pid}) started", Patience);
        var stopping = shipper.Log.WaitFor($"worker ({pid}) stopping: cpu", Patience);
        var match = Regex.Match(stopping, @"stopping: cpu ([\d.]+)% of (\d+) cores for ([\d.]+)s \((\d+) intervals in a row\), over watchdog\.utilization_limit 3% for watchdog\.latency_limit 1s$");
        Assert.True(match.Success, stopping);
        Assert.True(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) > 3);
        Assert.True(double.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture) >= 1.0, stopping);
        Assert.True(int.Parse(match.Groups[4].Value, CultureInfo.InvariantCulture) >= 5, stopping);

        var afterStart = ShipperProcess.TimeOf(stopping) - ShipperProcess.TimeOf(started);
        _output.WriteLine($"cpu hog stopped {afterStart.TotalSeconds:0.000}s after its start (latency_limit 1s, interval 200ms)");
        Assert.True(afterStart >= TimeSpan.FromSeconds(1), $"stopped {afterStart.TotalSeconds}s after start, before the 1s latency limit");

        shipper.Log.WaitFor($"worker ({pid}) stopped with exit code", Patience);
        shipper.WaitForWorker(1, Patience);
        AssertStopsCleanly(shipper);
    }

    [Fact]
    public void AWorkerThatCrashesAtStartHitsTheRespawnLimitAndTheWatcherExitsNonZero()
    {
        var stopwatch = Stopwatch.StartNew();
        using var shipper = Start("""
            interval: 200ms
            respawn_limit: 2
            respawn_delay: 0
            """, hog: "crash");

        Assert.True(shipper.WaitForExit(Patience), "the watcher kept going");
        _output.WriteLine($"gave up after {stopwatch.Elapsed.TotalSeconds:0.00}s");
        Assert.Equal(WatcherExitCodes.RespawnLimitReached, shipper.ExitCode);
        var workers = shipper.WorkerPids();
        Assert.Equal(2, workers.Count);
        Assert.Contains($"worker ({workers[0]}) exited with code {TestHog.CrashExitCode}", shipper.Log.Text);
        Assert.Contains("worker respawning too quickly", shipper.Log.Text);
        Assert.Contains("respawning in 2.0s", shipper.Log.Text); // respawn_delay 0 + 2^1 s
        Assert.Contains("giving up: the worker died 2 times in a row within 10s of its start (watchdog.respawn_limit 2); last exit code 70", shipper.Log.Text);

        // The worker's own words reach the watcher's stderr.
        Assert.Equal(2, shipper.Log.Lines.Count(l => l.Contains("SHIPPER_TEST_HOG=crash (test knob)")));
    }

    [Fact]
    public void KillingTheWatcherWithSigkillMakesTheWorkerExitWithinOneInterval()
    {
        using var shipper = Start("""
            interval: 1s
            delay: 0
            """);
        var worker = shipper.WaitForWorker(0, Patience);
        shipper.Log.WaitFor("starting: 1 dataset(s)", Patience);

        shipper.Signal(SIGKILL);
        var gone = ShipperProcess.WaitGone(worker, TimeSpan.FromSeconds(10));
        Assert.NotNull(gone);
        _output.WriteLine($"worker exited {gone.Value.TotalMilliseconds:0}ms after its watcher was killed");
        Assert.True(gone < TimeSpan.FromSeconds(1), $"the worker took {gone.Value.TotalMilliseconds:0}ms, more than one interval");
    }

    [Fact]
    public void SigtermToTheWatcherDrainsTheWorkerAndExitsZeroWithNoOrphan()
    {
        // Under the dotnet host the worker command must carry the entry assembly.
        using var shipper = Start("""
            interval: 200ms
            """, viaDotnetHost: true);
        var worker = shipper.WaitForWorker(0, Patience);
        Assert.Contains("shipper.dll run -e -c", shipper.Log.WaitFor("supervising worker", TimeSpan.Zero));
        shipper.Log.WaitFor("starting: 1 dataset(s)", Patience);
        Assert.Equal(new[] { worker }, ShipperProcess.ChildrenOf(shipper.Pid));

        AssertStopsCleanly(shipper);
        Assert.Contains("received SIGTERM, shutting down", shipper.Log.Text);
        Assert.Contains("shipper stopped; every event the publisher accepted was delivered", shipper.Log.Text);
        // (The worker's own exit code is the pipeline's business; the watcher exits 0 whatever it is.)
        Assert.Contains($"worker ({worker}) stopped with exit code", shipper.Log.Text);
        Assert.Contains("watcher (", shipper.Log.Lines[^1]);
    }

    [Fact]
    public void TheShippedBuildHasNoTestHogAndItsWorkerIgnoresTheVariable()
    {
        // No trace in the binary: string literals are UTF-16 in the metadata, names UTF-8.
        var binary = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "shipper.dll"));
        Assert.Equal(-1, binary.AsSpan().IndexOf(System.Text.Encoding.Unicode.GetBytes(TestHog.EnvironmentVariable)));
        Assert.Equal(-1, binary.AsSpan().IndexOf("TestHog"u8));

        using var shipper = Start("""
            interval: 200ms
            respawn_delay: 0
            """, hog: "crash", shipped: true);
        var worker = shipper.WaitForWorker(0, Patience);

        // The worker got past the point where the hooked build crashes, and keeps running.
        shipper.Log.WaitFor("starting: 1 dataset(s)", Patience);
        Assert.False(ShipperProcess.IsGone(worker));
        Assert.DoesNotContain($"exited with code {TestHog.CrashExitCode}", shipper.Log.Text);
        Assert.DoesNotContain(TestHog.EnvironmentVariable, shipper.Log.Text);
        Assert.Equal(new[] { worker }, shipper.WorkerPids());
        AssertStopsCleanly(shipper);
    }

    [Theory]
    [InlineData("level: -1", new string[0])]
    [InlineData("level: 0", new[] { "--disable-watchdog" })]
    public void WithTheWatchdogOffEverythingRunsInOneProcess(string watchdogYaml, string[] flags)
    {
        using var shipper = Start(watchdogYaml, hog: "crash", extraArgs: flags);
        shipper.Log.WaitFor("starting: 1 dataset(s)", Patience);
        Assert.Empty(ShipperProcess.ChildrenOf(shipper.Pid));
        Assert.DoesNotContain("watcher", shipper.Log.Text);

        // The hog knob acts only in a watched worker: here it must be inert.
        Assert.DoesNotContain("SHIPPER_TEST_HOG", shipper.Log.Text);
        AssertStopsCleanly(shipper, watched: false);
        Assert.Contains("shipper stopped", shipper.Log.Text);
    }
}
