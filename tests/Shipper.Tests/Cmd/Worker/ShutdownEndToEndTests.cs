using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Shipper.Tests.Cmd.Watchdog;
using Shipper.Tests.Support;
using static Shipper.Tests.Cmd.Worker.TotalMetricsLine;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Worker;

/// <summary>
/// Stopping the real binary while its real Elasticsearch output cannot reach anything: the stop must end within
/// <c>shipper.shutdown_timeout</c>, idle while it waits, and say (and count) exactly how many events were not
/// delivered. It used to resend the cancelled batches forever at most of a core.
/// </summary>
public sealed class ShutdownEndToEndTests : IDisposable
{
    private const int SIGTERM = 15;
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(3);

    private readonly ITestOutputHelper _output;
    private readonly TempConfig _config;

    public ShutdownEndToEndTests(ITestOutputHelper output)
    {
        _output = output;
        _config = new TempConfig("");
    }

    public void Dispose() => _config.Dispose();

    [KernelFact]
    public void WithoutTheWatchdogTheStopEndsInTimeIdleAndCountsWhatWasNotDelivered()
    {
        using var shipper = Start("--disable-watchdog");
        var worker = shipper.Pid;
        RunAndStop(shipper, worker);
    }

    [KernelFact]
    public void WithTheWatchdogTheWorkerStopsItselfBeforeTheWatcherWouldKillIt()
    {
        using var shipper = Start();
        var worker = shipper.WaitForWorker(0, TimeSpan.FromSeconds(20));
        RunAndStop(shipper, worker);
        Assert.Equal(0, shipper.ExitCode);
        Assert.DoesNotContain("sending SIGKILL", shipper.Log.Text);
        Assert.Contains($"worker ({worker}) stopped with exit code 0", shipper.Log.Text);
    }

    private ShipperProcess Start(params string[] extraArgs)
    {
        File.WriteAllText(_config.Path, $"""
            shipper.modules:
              - module: system
                datasets: [process]
            output.elasticsearch:
              hosts: ["http://127.0.0.1:{ClosedPort()}"]
            shipper.shutdown_timeout: {ShutdownTimeout.TotalSeconds:0}s
            logging.metrics.enabled: false
            """);
        return ShipperProcess.Start(_config.Path, _config.Directory, _output, extraArgs: extraArgs);
    }

    private static void RunAndStop(ShipperProcess shipper, int worker)
    {
        shipper.Log.WaitFor("process: backend", TimeSpan.FromSeconds(20));

        // 200 processes while the output fails; they are folded (1 s hold) and queued for it.
        using (var storm = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done"]))!)
        {
            storm.WaitForExit();
        }

        Thread.Sleep(2500);
        var stopwatch = Stopwatch.StartNew();
        var ticksAtStop = CpuTicks(worker);
        shipper.Signal(SIGTERM);

        // While it waits for the unreachable output it must idle, not spin.
        Thread.Sleep(ShutdownTimeout - TimeSpan.FromMilliseconds(500));
        var waited = stopwatch.Elapsed;
        var ticksWaiting = CpuTicks(worker) - ticksAtStop;
        Assert.True(shipper.WaitForExit(ShutdownTimeout + TimeSpan.FromSeconds(2) - stopwatch.Elapsed), "the shipper did not stop within shutdown_timeout + 2 s");
        var took = stopwatch.Elapsed;

        var cpuShare = ticksWaiting / (double)ClockTicksPerSecond / waited.TotalSeconds;
        // A spinning stop shows as most of a core. An idle one still pays for JIT-compiling the stop's code paths
        // in this (JIT) build the first time they run: one CI run under load measured 11 % of the wait.
        Assert.True(cpuShare < 0.25, $"the stop used {cpuShare:P0} of a core while waiting for the output");
        Assert.InRange(took, ShutdownTimeout - TimeSpan.FromMilliseconds(500), ShutdownTimeout + TimeSpan.FromSeconds(2));

        var line = shipper.Log.WaitFor("events could not be delivered before shutdown", TimeSpan.FromSeconds(1));
        var lost = long.Parse(Regex.Match(line, @"(\d+) events could not be delivered").Groups[1].Value, CultureInfo.InvariantCulture);
        var totals = Totals(shipper.Log.WaitFor("Total metrics:", TimeSpan.FromSeconds(1)));
        var accepted = Number(totals, "pipeline", "events", "total");
        var given = Number(totals, "pipeline", "events", "dropped");

        // Nothing was acknowledged: every event the publisher accepted and did not drop is the undelivered count.
        Assert.True(lost >= 200, $"only {lost} undelivered, but 200 processes ran");
        Assert.Equal(accepted - given, lost);
        Assert.Equal(lost, Number(totals, "pipeline", "events", "undelivered"));
        Assert.Equal(0, Number(totals, "pipeline", "events", "published"));
        Assert.Equal(0, Number(totals, "pipeline", "events", "active"));
        var stopped = shipper.Log.WaitFor("shipper stopped;", TimeSpan.FromSeconds(1));
        Assert.Matches(@"shipper stopped; \d+ events lost: ", stopped);
        Assert.Contains($"pipeline.events.undelivered {lost}", stopped);
    }

    private static int ClosedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static long ClockTicksPerSecond => 100;

    /// <summary>utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/pid/stat).</summary>
    private static long CpuTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }
}
