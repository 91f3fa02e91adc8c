using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Watchdog;

/// <summary>
/// The heartbeat against the real binary: a worker stopped with SIGSTOP (no loop of it turns, no timer fires)
/// is killed and replaced once its heartbeats are missing for watchdog.heartbeat_timeout, counted and logged; a
/// shorter stop is tolerated; and the events the stopped worker never read are counted as lost by its successor.
/// </summary>
public sealed partial class WorkerHeartbeatEndToEndTests : IDisposable
{
    private const int SIGUSR1 = 10;
    private const int SIGTERM = 15;
    private const int SIGCONT = 18;
    private const int SIGSTOP = 19;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private readonly ITestOutputHelper _output;
    private readonly TempConfig _config = new("");

    public WorkerHeartbeatEndToEndTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _config.Dispose();

    /// <param name="heartbeatTimeout">Short, so that a test takes seconds; start-up has watchdog.delay (10s) for its first heartbeat.</param>
    /// <param name="backend">process.backend: netlink where a test is about the proc connector's sequence numbers.</param>
    private ShipperProcess Start(string heartbeatTimeout = "2s", string backend = "auto")
    {
        var processes = TempConfig.ProcessesToConsole.Replace("datasets: [process]", $"datasets: [process]\n    process.backend: {backend}", StringComparison.Ordinal);
        File.WriteAllText(_config.Path, $"""
            {processes}
            watchdog:
              interval: 200ms
              delay: 10s
              respawn_delay: 0
              forced_shutdown_delay: 2s
              heartbeat_timeout: {heartbeatTimeout}
            """);
        return ShipperProcess.Start(_config.Path, _config.Directory, null);
    }

    [Fact]
    public void AStoppedWorkerIsKilledAfterTheHeartbeatTimeoutCountedLoggedAndReplaced()
    {
        using var shipper = Start();
        var first = shipper.WaitForWorker(0, Patience);
        shipper.Log.WaitFor("starting: 1 dataset(s)", Patience);

        var stopped = Stopwatch.StartNew();
        Assert.Equal(0, LibCForTests.Kill(first, SIGSTOP));
        var line = shipper.Log.WaitFor($"worker ({first}) stopped making progress", Patience);
        var gone = ShipperProcess.WaitGone(first, Patience);
        var second = shipper.WaitForWorker(1, Patience);
        _output.WriteLine($"{line}\nstopped worker gone {stopped.Elapsed.TotalSeconds:0.00}s after SIGSTOP (heartbeat_timeout 2s, interval 200ms)");

        var match = HungLine().Match(line);
        Assert.True(match.Success, line);
        var age = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(age, Timeout.TotalSeconds, Timeout.TotalSeconds + 1);
        Assert.NotNull(gone);
        // Stopped between two heartbeats (every 200ms), found at the next look (every 200ms), then SIGKILL.
        Assert.True(stopped.Elapsed < Timeout + TimeSpan.FromSeconds(2), $"took {stopped.Elapsed.TotalSeconds:0.00}s");
        Assert.NotEqual(first, second);

        // The replacement knows: watchdog.kills_hung in its metrics, the reason too.
        var metrics = MetricsOf(shipper, second);
        Assert.Equal(1, Metric(metrics, "watchdog.kills_hung"));
        Assert.Equal(1, Metric(metrics, "watchdog.worker_restarts"));
        Assert.Contains("watchdog.last_kill_reason=\"hung: last heartbeat", metrics);
        AssertStopsCleanly(shipper);
    }

    [Fact]
    public void AStopShorterThanTheHeartbeatTimeoutIsTolerated()
    {
        using var shipper = Start(heartbeatTimeout: "3s");
        var worker = shipper.WaitForWorker(0, Patience);
        shipper.Log.WaitFor("starting: 1 dataset(s)", Patience);

        Assert.Equal(0, LibCForTests.Kill(worker, SIGSTOP));
        Thread.Sleep(TimeSpan.FromSeconds(1.5));
        Assert.Equal(0, LibCForTests.Kill(worker, SIGCONT));

        // Past the timeout counted from the stop: the heartbeats resumed in time.
        Thread.Sleep(TimeSpan.FromSeconds(3));
        Assert.DoesNotContain("stopped making progress", shipper.Log.Text);
        Assert.Equal(new[] { worker }, shipper.WorkerPids());
        Assert.False(ShipperProcess.IsGone(worker));
        AssertStopsCleanly(shipper);
    }

    [KernelFact]
    public void EventsTheStoppedWorkerNeverReadAreCountedLostByItsReplacement()
    {
        // Long enough that every process below starts while the worker is stopped, even on a loaded host. Netlink:
        // the proc connector numbers its messages per CPU, which is how the replacement counts what nobody read.
        using var shipper = Start(heartbeatTimeout: "10s", backend: "netlink");
        var first = shipper.WaitForWorker(0, Patience);
        shipper.Log.WaitFor("process: netlink proc connector open", Patience);

        // A heartbeat with this worker's position on every CPU: without one for a CPU, the successor has no
        // number to count that CPU's gap from.
        EveryCpuSpeaks();
        Thread.Sleep(TimeSpan.FromSeconds(3)); // past one heartbeat period (heartbeat_timeout / 4)

        Assert.Equal(0, LibCForTests.Kill(first, SIGSTOP));
        var stopped = Stopwatch.StartNew();
        const int processes = 300;
        using (var loop = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"i=0; while [ $i -lt {processes} ]; do /bin/true; i=$((i+1)); done"]) { UseShellExecute = false })!)
        {
            loop.WaitForExit();
        }

        // Every process ran while the stopped worker was still subscribed: once it is killed and until its
        // successor subscribes, no socket listens and the kernel numbers nothing.
        Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(8), $"the {processes} processes took {stopped.Elapsed.TotalSeconds:0.0}s, too close to heartbeat_timeout 10s");
        Assert.DoesNotContain("stopped making progress", shipper.Log.Text);
        shipper.Log.WaitFor($"worker ({first}) stopped making progress", Patience);
        var second = shipper.WaitForWorker(1, Patience);

        // Each process is a fork, an exec and an exit the stopped worker never read: at least 3 numbers per
        // process are missing between the last position it reported and the first its successor sees (more
        // when other processes ran meanwhile).
        shipper.Log.WaitFor("process: netlink proc connector open", Patience, skip: 1);

        // The successor counts a CPU's gap at the first message it reads from that CPU.
        EveryCpuSpeaks();
        Thread.Sleep(1000);
        var metrics = MetricsOf(shipper, second);
        var between = Metric(metrics, "process.netlink.lost_between_workers");
        var lost = Metric(metrics, "process.lost");
        _output.WriteLine($"{processes} processes while stopped: process.lost {lost}, process.netlink.lost_between_workers {between}");
        Assert.True(between >= 3 * processes, $"lost_between_workers {between} < {3 * processes}");
        Assert.True(lost >= between, $"process.lost {lost} does not include lost_between_workers {between}");
        AssertStopsCleanly(shipper);
    }

    /// <summary>A process pinned to each CPU, so that each CPU sends proc connector messages now.</summary>
    private static void EveryCpuSpeaks()
    {
        for (var cpu = 0; cpu < Environment.ProcessorCount; cpu++)
        {
            using var pinned = Process.Start(new ProcessStartInfo("taskset", ["-c", cpu.ToString(System.Globalization.CultureInfo.InvariantCulture), "/bin/true"]) { UseShellExecute = false })!;
            pinned.WaitForExit();
        }
    }

    /// <summary>The worker's metrics from its SIGUSR1 diagnostic snapshot (<c>metrics: name=value …</c>).</summary>
    private static string MetricsOf(ShipperProcess shipper, int worker)
    {
        shipper.Log.WaitFor("starting: 1 dataset(s)", Patience, skip: shipper.WorkerPids().IndexOf(worker));
        var before = shipper.Log.Lines.Count(l => l.Contains("diagnostics: metrics:", StringComparison.Ordinal));
        Assert.Equal(0, LibCForTests.Kill(worker, SIGUSR1));
        return shipper.Log.WaitFor("diagnostics: metrics:", Patience, skip: before);
    }

    private static long Metric(string metrics, string name)
    {
        var match = Regex.Match(metrics, " " + Regex.Escape(name) + @"=(\d+)");
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    private static void AssertStopsCleanly(ShipperProcess shipper)
    {
        var workers = shipper.WorkerPids();
        shipper.Signal(SIGTERM);
        Assert.True(shipper.WaitForExit(Patience), "the shipper did not exit after SIGTERM");
        Assert.Equal(0, shipper.ExitCode);
        foreach (var pid in workers)
        {
            Assert.True(ShipperProcess.IsGone(pid), $"worker {pid} outlived its watcher");
        }
    }

    [GeneratedRegex(@"WARN\twatcher \[watchdog\]\tworker \(\d+\) stopped making progress: last heartbeat ([\d.]+)s ago, over watchdog\.heartbeat_timeout 2s \(process state T, stopped\); sending SIGKILL$")]
    private static partial Regex HungLine();
}
