using Microsoft.Extensions.Time.Testing;
using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class WorkerGuardTests
{
    [Fact]
    public void WhenTheParentIsNoLongerTheWatcherTheWorkerStopsAndIsForcedOutAfterTheDelay()
    {
        var time = new FakeTimeProvider();
        var log = new CapturedLog();
        var parent = 4242;
        var requested = new List<int>();
        var forced = new List<int>();
        using var guard = new WorkerGuard(4242, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4), log.Logger("watchdog"), requested.Add, time, forced.Add, () => parent);

        guard.StartChecks();
        Assert.False(guard.WatcherGone);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(requested);

        // The watcher died: we were reparented to init (or a subreaper).
        parent = 1;
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(new[] { WorkerExitCodes.WatcherGone }, requested);
        Assert.True(guard.WatcherGone);
        log.WaitFor("watcher (4242) is gone (our parent is now 1)", TimeSpan.Zero);

        // Still here after forced_shutdown_delay: exit at once, only once.
        time.Advance(TimeSpan.FromSeconds(3.9));
        Assert.Empty(forced);
        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(new[] { WorkerExitCodes.WatcherGone }, forced);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Single(requested);
        Assert.Single(forced);
    }

    [Fact]
    public void StartNoticesAWatcherThatDiedBeforeTheGuardWasArmed()
    {
        // Our real parent is the test host, not pid 1: as if the watcher had died and we were reparented.
        var time = new FakeTimeProvider();
        var requested = new List<int>();
        using var guard = new WorkerGuard(1, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4), new CapturedLog().Logger("watchdog"), requested.Add, time, _ => { });
        guard.StartChecks();
        Assert.Equal(new[] { WorkerExitCodes.WatcherGone }, requested);
    }
}
