using System.Diagnostics;
using Shipper.Watchdog;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Watchdog;

/// <summary>
/// The watcher's mechanics against a worker we script in perl (always present on Debian), for behaviour the
/// real shipper never shows on purpose: ignoring SIGTERM, leaking without draining.
/// </summary>
public sealed class WatcherTests
{
    private readonly ITestOutputHelper _output;

    public WatcherTests(ITestOutputHelper output) => _output = output;

    private static readonly WatchdogSettings Fast = new()
    {
        Interval = TimeSpan.FromMilliseconds(100),
        Delay = TimeSpan.Zero,
        RespawnDelay = TimeSpan.Zero,
        ForcedShutdownDelay = TimeSpan.FromMilliseconds(300),
        RespawnLimit = 2,
    };

    private static WorkerCommand Perl(string script) => new("/usr/bin/perl", new[] { "-e", script });

    /// <summary>Runs the watcher on its own thread, as <c>shipper run</c> does on its main thread.</summary>
    private static (Thread Thread, Func<int> ExitCode) RunInBackground(Watcher watcher, CancellationToken stop)
    {
        var exitCode = -1;
        var thread = new Thread(() => exitCode = watcher.Run(stop)) { IsBackground = true };
        thread.Start();
        return (thread, () => exitCode);
    }

    [Theory]
    [InlineData(null, 0.3, "watchdog.forced_shutdown_delay")]
    [InlineData(0.0, 1.0, "shipper.shutdown_timeout + 1s")] // a stop request waits for the drain if that is longer
    public void AWorkerThatIgnoresSigtermIsKilledWhenItsTimeIsUp(double? drainSeconds, double patienceSeconds, string why)
    {
        var log = new CapturedLog(_output);
        var drain = drainSeconds is { } d ? TimeSpan.FromSeconds(d) : (TimeSpan?)null;
        var watcher = new Watcher(Fast, Perl("$SIG{TERM}='IGNORE'; $|=1; print STDERR \"up $$\\n\"; sleep 1 while 1"), log.Logger("watchdog"), TimeProvider.System, log.Forwarded, drain);
        using var stop = new CancellationTokenSource();
        var (thread, exitCode) = RunInBackground(watcher, stop.Token);

        var pid = int.Parse(log.WaitFor("worker| up", TimeSpan.FromSeconds(10)).Split(' ')[^1]);
        var stopwatch = Stopwatch.StartNew();
        stop.Cancel();
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        _output.WriteLine($"stopped in {stopwatch.ElapsedMilliseconds} ms");

        Assert.Equal(WatcherExitCodes.Stopped, exitCode());
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(patienceSeconds));
        Assert.Contains($"worker ({pid}) still running {patienceSeconds:0.0}s after SIGTERM ({why}); sending SIGKILL", log.Text);
        Assert.Contains($"worker ({pid}) stopped with exit code 137", log.Text);
        Assert.True(ShipperProcess.IsGone(pid));
    }

    [Fact]
    public void ALeakingWorkerGetsUsr1ThenTermAndIsCountedAndReplaced()
    {
        var log = new CapturedLog(_output);
        // The limit also applies to the watcher's own memory, which here is this test process: keep it
        // well above what other tests running meanwhile could add.
        var settings = Fast with { MemoryLimitBytes = 100 * WatchdogSettings.MegaByte, RespawnLimit = 5 };
        const string script = """
            $|=1;
            $SIG{USR1} = sub { print STDERR "usr1 $$\n" };
            $SIG{TERM} = sub { print STDERR "term $$\n"; exit 0 };
            print STDERR "up $$\n";
            my @hoard;
            for (1..60) { push @hoard, "x" x (4*1024*1024); select(undef, undef, undef, 0.01); }
            sleep 1 while 1;
            """;
        var watcher = new Watcher(settings, Perl(script), log.Logger("watchdog"), TimeProvider.System, log.Forwarded);
        using var stop = new CancellationTokenSource();
        var (thread, exitCode) = RunInBackground(watcher, stop.Token);

        log.WaitFor("stopping: memory", TimeSpan.FromSeconds(10));
        var first = int.Parse(log.WaitFor("worker| up", TimeSpan.Zero).Split(' ')[^1]);
        var usr1 = log.WaitFor($"worker| usr1 {first}", TimeSpan.FromSeconds(5));
        var term = log.WaitFor($"worker| term {first}", TimeSpan.FromSeconds(5));
        Assert.True(log.Lines.ToList().IndexOf(usr1) < log.Lines.ToList().IndexOf(term), "SIGUSR1 must come before SIGTERM");
        log.WaitFor("worker| up", TimeSpan.FromSeconds(10), skip: 1);

        stop.Cancel();
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, exitCode());
        var state = watcher.State;
        Assert.True(state.KillsMemory >= 1);
        Assert.Equal(0, state.KillsCpu);
        Assert.True(state.WorkerRestarts >= 1);
        Assert.StartsWith("memory ", state.LastKillReason);
    }

    [Fact]
    public void AWorkerThatCannotBeStartedCountsAsDyingAtStart()
    {
        var log = new CapturedLog(_output);
        var watcher = new Watcher(Fast with { RespawnLimit = 1 }, new WorkerCommand("/nonexistent/shipper", Array.Empty<string>()), log.Logger("watchdog"), TimeProvider.System, log.Forwarded);
        Assert.Equal(WatcherExitCodes.RespawnLimitReached, watcher.Run(CancellationToken.None));
        Assert.Contains("cannot start worker `/nonexistent/shipper`", log.Text);
        Assert.Contains("giving up", log.Text);
    }

    [Fact]
    public void AWatcherWhoseOwnMemoryGrowsPastTheLimitStopsTheWorkerAndExits()
    {
        var log = new CapturedLog(_output);
        var settings = Fast with { MemoryLimitBytes = 64 * WatchdogSettings.MegaByte };
        var watcher = new Watcher(settings, Perl("$SIG{USR1} = 'IGNORE'; $SIG{TERM} = sub { print STDERR \"term\\n\"; exit 0 }; $|=1; print STDERR \"up $$\\n\"; sleep 1 while 1"), log.Logger("watchdog"), TimeProvider.System, log.Forwarded);
        using var stop = new CancellationTokenSource();
        var (thread, exitCode) = RunInBackground(watcher, stop.Token);
        var pid = int.Parse(log.WaitFor("worker| up", TimeSpan.FromSeconds(10)).Split(' ')[^1]);
        Thread.Sleep(300); // a few intervals: the watcher has taken its own baseline

        // This test process is the watcher here: make it leak.
        var leak = new List<byte[]>();
        for (var i = 0; i < 24; i++)
        {
            var chunk = GC.AllocateUninitializedArray<byte>(8 * 1024 * 1024);
            for (var j = 0; j < chunk.Length; j += 4096)
            {
                chunk[j] = 1;
            }

            leak.Add(chunk);
        }

        Assert.True(thread.Join(TimeSpan.FromSeconds(10)), "the watcher did not notice its own memory");
        GC.KeepAlive(leak);
        Assert.Equal(WatcherExitCodes.WatcherUnhealthy, exitCode());
        Assert.Matches(@"watcher \(\d+\) stopping: its own memory [\d.]+ MB resident is [\d.]+ MB above its initial [\d.]+ MB, over watchdog.memory_limit 64 MB", log.Text);
        log.WaitFor("worker| term", TimeSpan.Zero);
        Assert.True(ShipperProcess.IsGone(pid));
    }
}
