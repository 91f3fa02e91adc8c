using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Shipper.Module.Monitoring;
using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

/// <summary>
/// What counts as progress, over a real link (the socket pair the watcher gives a worker) on an injected
/// clock: a loop that turns, however fast or slow, keeps the heartbeats going; one that stops turning for
/// half the timeout silences them until it turns again.
/// </summary>
public sealed class WorkerHeartbeatTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    [Fact]
    public void HeartbeatsGoOutWhileTheLoopsTurnAndStopWhileOneIsStuck()
    {
        var time = new FakeTimeProvider();
        using var watcherEnd = WorkerLink.Open(time);
        // The worker's copy of its end, as a child process would inherit it (the watcher closes its own).
        var workerFd = LibCForTests.Dup(int.Parse(watcherEnd.WorkerEnd, CultureInfo.InvariantCulture));
        Assert.True(watcherEnd.WorkerStarted(new WorkerHandover(["a=1"], "0:5,1:9"), out var error), error);
        using var link = WatcherLink.FromEnvironment(name => name == WorkerLink.EnvironmentVariable ? workerFd.ToString(CultureInfo.InvariantCulture) : null)!;
        Assert.Equal(["a=1"], link.Handover.Overrides);

        var progress = new WorkerProgress { InheritedPositions = link.Handover.Positions };
        var reader = progress.Register("netlink reader");
        var log = new CapturedLog();
        using var heartbeat = new WorkerHeartbeat(link, progress, Timeout, TimeSpan.FromMilliseconds(500), log.Logger("watchdog"), time);

        // Until the source reports its own positions, the inherited ones are passed on.
        BeatAndExpectIt(heartbeat, watcherEnd, time);
        Assert.Equal("0:5,1:9", watcherEnd.Positions);
        progress.ReportPositionsWith(() => "0:7,1:12");

        // A busy loop turns often, an idle one (the reader's 50 ms receive timeout) rarely: both are progress.
        for (var i = 0; i < 8; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            reader.Turn();
            BeatAndExpectIt(heartbeat, watcherEnd, time);
        }

        Assert.Equal("0:7,1:12", watcherEnd.Positions);

        // Not turned for 0.9s (under half of 2s): still fine. For 1.4s: withheld, and said once.
        time.Advance(TimeSpan.FromMilliseconds(900));
        BeatAndExpectIt(heartbeat, watcherEnd, time);
        var last = watcherEnd.LastHeartbeat;
        time.Advance(TimeSpan.FromMilliseconds(500));
        heartbeat.Beat();
        time.Advance(TimeSpan.FromMilliseconds(500));
        heartbeat.Beat();
        Thread.Sleep(200);
        Assert.Equal(last, watcherEnd.LastHeartbeat);
        Assert.Single(log.Lines, l => l.Contains("heartbeat withheld: the netlink reader has not turned for 1.4s (over half of watchdog.heartbeat_timeout)"));

        // It turns again: heartbeats resume.
        reader.Turn();
        time.Advance(TimeSpan.FromMilliseconds(500));
        BeatAndExpectIt(heartbeat, watcherEnd, time);
        Assert.Contains(log.Lines, l => l.Contains("heartbeat resumed"));

        // A loop that ended on purpose is no longer waited for.
        progress.Unregister(reader);
        time.Advance(TimeSpan.FromSeconds(5));
        BeatAndExpectIt(heartbeat, watcherEnd, time);
    }

    /// <summary>Beats once and waits (real time, bounded) until the watcher's end has read it at the current fake time.</summary>
    private static void BeatAndExpectIt(WorkerHeartbeat heartbeat, WorkerLink watcherEnd, FakeTimeProvider time)
    {
        heartbeat.Beat();
        var now = time.GetTimestamp();
        var stopwatch = Stopwatch.StartNew();
        while (watcherEnd.LastHeartbeat != now && stopwatch.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(5);
        }

        Assert.Equal(now, watcherEnd.LastHeartbeat);
    }
}
