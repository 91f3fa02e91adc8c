using Microsoft.Extensions.Time.Testing;
using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class RespawnPolicyTests
{
    private static readonly WatchdogSettings Settings = new() { RespawnLimit = 4, RespawnDelay = TimeSpan.FromSeconds(5) };

    [Fact]
    public void QuickDeathsBackOffExponentiallyThenGiveUpAtTheLimit()
    {
        var time = new FakeTimeProvider();
        var policy = new RespawnPolicy(Settings, time);
        var delays = new List<TimeSpan>();
        for (var n = 1; n <= 3; n++)
        {
            policy.WorkerStarted();
            time.Advance(TimeSpan.FromSeconds(1));
            var decision = policy.WorkerEnded(stoppedByWatcher: false);
            Assert.False(decision.GiveUp);
            Assert.True(decision.QuickDeath);
            Assert.Equal(n, decision.QuickDeaths);
            Assert.Equal(TimeSpan.FromSeconds(1), decision.Uptime);
            delays.Add(decision.Delay);
            time.Advance(decision.Delay);
        }

        // min(600, 5 + 2^N)
        Assert.Equal(new[] { 7.0, 9.0, 13.0 }, delays.Select(d => d.TotalSeconds));

        policy.WorkerStarted();
        time.Advance(TimeSpan.FromMilliseconds(300));
        var last = policy.WorkerEnded(stoppedByWatcher: false);
        Assert.True(last.GiveUp);
        Assert.Equal(4, last.QuickDeaths);
    }

    [Fact]
    public void AWorkerThatLivedResetsTheRun()
    {
        var time = new FakeTimeProvider();
        var policy = new RespawnPolicy(Settings, time);
        for (var i = 0; i < 3; i++)
        {
            policy.WorkerStarted();
            time.Advance(TimeSpan.FromSeconds(2));
            policy.WorkerEnded(false);
        }

        Assert.Equal(3, policy.QuickDeaths);
        policy.WorkerStarted();
        time.Advance(RespawnPolicy.QuickDeathWindow);
        var decision = policy.WorkerEnded(false);
        Assert.False(decision.QuickDeath);
        Assert.False(decision.GiveUp);
        Assert.Equal(0, decision.QuickDeaths);
        Assert.Equal(TimeSpan.FromSeconds(5), decision.Delay);
    }

    [Fact]
    public void AWorkerStoppedForALimitIsReplacedAfterTheRespawnDelay()
    {
        var time = new FakeTimeProvider();
        var policy = new RespawnPolicy(Settings, time);
        for (var i = 0; i < 10; i++)
        {
            policy.WorkerStarted();
            time.Advance(TimeSpan.FromSeconds(1));
            var decision = policy.WorkerEnded(stoppedByWatcher: true);
            Assert.False(decision.GiveUp);
            Assert.Equal(TimeSpan.FromSeconds(5), decision.Delay);
        }
    }

    [Theory]
    [InlineData(1, 7)]
    [InlineData(5, 37)]
    [InlineData(9, 517)]
    [InlineData(10, 600)]
    [InlineData(40, 600)]
    public void BackoffIsCappedAtTenMinutes(int quickDeaths, double seconds)
    {
        Assert.Equal(seconds, RespawnPolicy.Backoff(TimeSpan.FromSeconds(5), quickDeaths).TotalSeconds);
    }

    [Fact]
    public void ARespawnLimitOfOneGivesUpAtTheFirstQuickDeath()
    {
        var time = new FakeTimeProvider();
        var policy = new RespawnPolicy(Settings with { RespawnLimit = 1 }, time);
        policy.WorkerStarted();
        Assert.True(policy.WorkerEnded(false).GiveUp);
    }
}
