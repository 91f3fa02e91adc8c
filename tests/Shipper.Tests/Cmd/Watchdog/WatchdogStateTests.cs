using Shipper.Module.Monitoring;
using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class WatchdogStateTests
{
    [Fact]
    public void RoundTripsThroughTheEnvironmentText()
    {
        var state = new WatchdogState
        {
            WorkerRestarts = 7,
            KillsMemory = 2,
            KillsCpu = 3,
            Stalls = 1,
            LastKillReason = "cpu 50.0% of 2 cores; over=limit 10% ünïcode",
        };
        var text = state.Encode();
        Assert.DoesNotContain(' ', text);
        Assert.True(WatchdogState.TryDecode(text, out var back, out var error), error);
        Assert.Equal(7, back.WorkerRestarts);
        Assert.Equal(2, back.KillsMemory);
        Assert.Equal(3, back.KillsCpu);
        Assert.Equal(1, back.Stalls);
        Assert.Equal(state.LastKillReason, back.LastKillReason);
    }

    [Theory]
    [InlineData("worker_restarts=x", "worker_restarts: 'x' is not a count")]
    [InlineData("worker_restarts", "'worker_restarts' is not key=value")]
    [InlineData("kills_cpu=-1", "kills_cpu: '-1' is not a count")]
    public void BadTextIsReportedNotGuessed(string text, string expected)
    {
        Assert.False(WatchdogState.TryDecode(text, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void UnknownCountersFromANewerWatcherAreSkipped()
    {
        Assert.True(WatchdogState.TryDecode("worker_restarts=1;kills_disk=4", out var state, out _));
        Assert.Equal(1, state.WorkerRestarts);
    }

    [Fact]
    public void MetricsStartFromTheInheritedCounts()
    {
        var registry = new MetricsRegistry();
        var metrics = WatchdogMetrics.Register(registry, new WatchdogState { WorkerRestarts = 3, KillsMemory = 1, KillsCpu = 2, Stalls = 4, LastKillReason = "memory" });
        metrics.Stalls.Increment();
        var snapshot = registry.Snapshot().ToDictionary(m => m.Name);
        Assert.Equal(3, snapshot["watchdog.worker_restarts"].Number);
        Assert.Equal(1, snapshot["watchdog.kills_memory"].Number);
        Assert.Equal(2, snapshot["watchdog.kills_cpu"].Number);
        Assert.Equal(5, snapshot["watchdog.stalls"].Number);
        Assert.Equal("memory", snapshot["watchdog.last_kill_reason"].Text);
    }
}
