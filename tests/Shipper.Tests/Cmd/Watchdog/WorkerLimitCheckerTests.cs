using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class WorkerLimitCheckerTests
{
    private const long MB = 1024 * 1024;

    private static readonly WatchdogSettings Settings = new()
    {
        MemoryLimitBytes = 100 * MB,
        UtilizationLimitPercent = 10,
        LatencyLimit = TimeSpan.FromSeconds(1),
        Interval = TimeSpan.FromMilliseconds(200),
        Delay = TimeSpan.FromSeconds(1),
    };

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void MemoryIsMeasuredFromTheFirstReadingAfterTheDelay()
    {
        var checker = new WorkerLimitChecker(Settings, cores: 2);

        // Before the delay nothing counts, however large.
        Assert.Null(checker.Observe(Ms(500), new ProcessUsage(TimeSpan.Zero, 900 * MB)));
        Assert.Null(checker.InitialFootprint);

        // The first reading after the delay is the baseline.
        Assert.Null(checker.Observe(Ms(1000), new ProcessUsage(TimeSpan.Zero, 40 * MB)));
        Assert.Equal(40 * MB, checker.InitialFootprint);
        Assert.Null(checker.Observe(Ms(1200), new ProcessUsage(TimeSpan.Zero, 140 * MB)));

        var reason = checker.Observe(Ms(1400), new ProcessUsage(TimeSpan.Zero, 141 * MB));
        Assert.NotNull(reason);
        Assert.Equal(WorkerStopKind.Memory, reason.Kind);
        Assert.Equal("memory 141 MB resident is 101 MB above its initial 40 MB, over watchdog.memory_limit 100 MB", reason.Description);
    }

    [Fact]
    public void CpuIsStoppedOnlyOnceOverForTheWholeLatencyLimit()
    {
        var checker = new WorkerLimitChecker(Settings with { Delay = TimeSpan.Zero }, cores: 2);
        var cpu = TimeSpan.Zero;
        Assert.Null(checker.Observe(Ms(0), new ProcessUsage(cpu, 10 * MB)));

        // One core busy = 50% of two cores, 200 ms per interval: over for 0.2, 0.4 … 0.8 s is not yet enough.
        for (var i = 1; i <= 4; i++)
        {
            cpu += Ms(200);
            Assert.Null(checker.Observe(Ms(200 * i), new ProcessUsage(cpu, 10 * MB)));
            Assert.Equal(i, checker.OverIntervals);
        }

        cpu += Ms(200);
        var reason = checker.Observe(Ms(1000), new ProcessUsage(cpu, 10 * MB));
        Assert.NotNull(reason);
        Assert.Equal(WorkerStopKind.Cpu, reason.Kind);
        Assert.Equal("cpu 50.0% of 2 cores for 1.0s (5 intervals in a row), over watchdog.utilization_limit 10% for watchdog.latency_limit 1s", reason.Description);
    }

    [Fact]
    public void AnIntervalUnderTheLimitResetsTheSustainedCount()
    {
        var checker = new WorkerLimitChecker(Settings with { Delay = TimeSpan.Zero }, cores: 2);
        var cpu = TimeSpan.Zero;
        var t = 0.0;
        Assert.Null(checker.Observe(Ms(t), new ProcessUsage(cpu, 0)));
        for (var round = 0; round < 5; round++)
        {
            // Four busy intervals (0.8 s over), then one quiet one: never 1 s in a row.
            for (var i = 0; i < 4; i++)
            {
                t += 200;
                cpu += Ms(200);
                Assert.Null(checker.Observe(Ms(t), new ProcessUsage(cpu, 0)));
            }

            t += 200;
            cpu += Ms(39); // 9.75% of two cores: under 10%
            Assert.Null(checker.Observe(Ms(t), new ProcessUsage(cpu, 0)));
            Assert.Equal(0, checker.OverIntervals);
        }
    }

    [Fact]
    public void CpuLimitIsAShareOfAllCores()
    {
        // 15% of one core is over 10% on one core but under on two.
        var oneCore = new WorkerLimitChecker(Settings with { Delay = TimeSpan.Zero, LatencyLimit = Ms(200) }, cores: 1);
        var twoCores = new WorkerLimitChecker(Settings with { Delay = TimeSpan.Zero, LatencyLimit = Ms(200) }, cores: 2);
        oneCore.Observe(Ms(0), new ProcessUsage(TimeSpan.Zero, 0));
        twoCores.Observe(Ms(0), new ProcessUsage(TimeSpan.Zero, 0));
        Assert.NotNull(oneCore.Observe(Ms(1000), new ProcessUsage(Ms(150), 0)));
        Assert.Null(twoCores.Observe(Ms(1000), new ProcessUsage(Ms(150), 0)));
    }

    [Fact]
    public void ResetForgetsThePreviousWorker()
    {
        var checker = new WorkerLimitChecker(Settings with { Delay = TimeSpan.Zero }, cores: 1);
        checker.Observe(Ms(0), new ProcessUsage(TimeSpan.Zero, 50 * MB));
        checker.Observe(Ms(200), new ProcessUsage(Ms(200), 50 * MB));
        Assert.Equal(1, checker.OverIntervals);
        checker.Reset();
        Assert.Null(checker.InitialFootprint);
        Assert.Equal(0, checker.OverIntervals);

        // The new worker's CPU time starts from zero again: no negative or huge delta.
        Assert.Null(checker.Observe(Ms(0), new ProcessUsage(TimeSpan.Zero, 10 * MB)));
        Assert.Equal(10 * MB, checker.InitialFootprint);
    }
}
