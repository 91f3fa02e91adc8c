using Microsoft.Extensions.Time.Testing;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Procfs;
using Shipper.Tests.Module.System.Process.Netlink;

namespace Shipper.Tests.Module.System.Process.Procfs;

public class ProcfsPollingSourceTests
{
    private static readonly BootClock Clock = new(bootTimeUnixNanoseconds: 1_700_000_000_000_000_000, monotonicOffsetNanoseconds: 1_699_999_000_000_000_000, clockTicksPerSecond: 100);

    [Fact]
    public void ReportsNewAndVanishedProcessesOfAFakeTree()
    {
        using var tree = new FakeProcTree();
        tree.AddFullProcess(10, "old", "old\0"u8.ToArray());
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_100));
        using var source = new ProcfsPollingSource(new ProcfsSourceOptions { ProcRoot = tree.Root }, time, new MetricsRegistry(), Logger.Null, Clock);
        source.Start(CancellationToken.None);

        // Existing processes are the snapshot's business: nothing yet.
        source.PollOnce();
        Assert.False(source.Observations.TryRead(out _));

        tree.AddFullProcess(11, "new one", "/bin/new\0--x\0"u8.ToArray());
        Directory.Delete(Path.Combine(tree.Root, "10"), recursive: true);
        source.PollOnce();

        Assert.True(source.Observations.TryRead(out var exit));
        Assert.True(exit.Synthetic);
        Assert.Equal(new ProcConnectorEvent(ProcEventType.Exit, 0, exit.Event.TimestampNs, 10, 10, 1, 1, 0, 0), exit.Event);
        Assert.Equal(Clock.EventTimeUtc(exit.Event.TimestampNs), time.GetUtcNow().UtcDateTime);
        Assert.Null(exit.Sample);

        Assert.True(source.Observations.TryRead(out var fork));
        Assert.True(fork.Synthetic);
        Assert.Equal(ProcEventType.Fork, fork.Event.Type);
        Assert.Equal(11, fork.Event.Tgid);
        Assert.Equal(1, fork.Event.ParentTgid);
        Assert.Equal(new[] { "/bin/new", "--x" }, fork.Sample!.Args);
        Assert.Equal("new one", fork.Sample.Name);

        // A fork is stamped with the process's own start time (starttime 5000 ticks = boot + 50 s), at the end of
        // that 10 ms tick, never later than the poll.
        Assert.Equal(Clock.StartTimeUnixNanoseconds(5001) - 1, Clock.EventTimeUnixNanoseconds(fork.Event.TimestampNs));
        Assert.False(source.Observations.TryRead(out _));
    }

    [Fact]
    public void APidReusedBetweenPollsIsAnExitAndAFork()
    {
        using var tree = new FakeProcTree();
        tree.AddFullProcess(20, "first", "first\0"u8.ToArray());
        using var source = new ProcfsPollingSource(new ProcfsSourceOptions { ProcRoot = tree.Root }, new FakeTimeProvider(), new MetricsRegistry(), Logger.Null, Clock);
        source.Start(CancellationToken.None);

        tree.WriteFile(20, "stat", "20 (second) S 1 20 20 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 9000 0 0\n");
        source.PollOnce();

        Assert.True(source.Observations.TryRead(out var exit));
        Assert.Equal(ProcEventType.Exit, exit.Event.Type);
        Assert.True(source.Observations.TryRead(out var fork));
        Assert.Equal(ProcEventType.Fork, fork.Event.Type);
        Assert.Equal(9000ul, fork.Sample!.StartTimeTicks);
    }

    [Fact]
    public void SkipsKernelThreads()
    {
        using var tree = new FakeProcTree();
        using var source = new ProcfsPollingSource(new ProcfsSourceOptions { ProcRoot = tree.Root }, new FakeTimeProvider(), new MetricsRegistry(), Logger.Null, Clock);
        source.Start(CancellationToken.None);

        tree.AddFullProcess(2, "kthreadd", []);
        tree.AddFullProcess(30, "kworker", []);
        tree.WriteFile(30, "stat", "30 (kworker/0:1) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n");
        tree.AddFullProcess(31, "flagged", []);
        tree.WriteFile(31, "stat", "31 (odd) S 1 0 0 0 -1 2097152 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n");
        source.PollOnce();

        Assert.False(source.Observations.TryRead(out _));
    }

    [Fact]
    public void AnUnreadableProcIsNotEveryProcessExiting()
    {
        using var tree = new FakeProcTree();
        tree.AddFullProcess(40, "x", "x\0"u8.ToArray());
        using var source = new ProcfsPollingSource(new ProcfsSourceOptions { ProcRoot = tree.Root }, new FakeTimeProvider(), new MetricsRegistry(), Logger.Null, Clock);
        source.Start(CancellationToken.None);

        Directory.Move(tree.Root, tree.Root + ".away");
        try
        {
            source.PollOnce();
            Assert.False(source.Observations.TryRead(out _));
        }
        finally
        {
            Directory.Move(tree.Root + ".away", tree.Root);
        }

        source.PollOnce();
        Assert.False(source.Observations.TryRead(out _));
    }

    [Fact]
    public void AFullQueueDropsCountsAndAnnouncesTheLoss()
    {
        using var tree = new FakeProcTree();
        var metrics = new MetricsRegistry();
        using var source = new ProcfsPollingSource(new ProcfsSourceOptions { ProcRoot = tree.Root, ChannelCapacity = 2 }, new FakeTimeProvider(), metrics, Logger.Null, Clock);
        source.Start(CancellationToken.None);
        for (var pid = 100; pid < 105; pid++)
        {
            tree.AddFullProcess(pid, "p", "p\0"u8.ToArray());
        }

        source.PollOnce();
        Assert.Equal(3, metrics.Counter("process.lost").Value);
        Assert.True(source.Observations.TryRead(out _));
        Assert.True(source.Observations.TryRead(out _));

        source.PollOnce(); // nothing new; the pending loss notice gets its slot now
        Assert.True(source.Observations.TryRead(out var loss));
        Assert.Equal(3, loss.Lost);
    }

    [Fact]
    public void SeesARealSleeperAppearAndVanishOnTheTimer()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var hooked = new global::System.Collections.Concurrent.ConcurrentQueue<ProcessSample>();
        using var source = new ProcfsPollingSource(new ProcfsSourceOptions { Period = TimeSpan.FromSeconds(1) }, time, new MetricsRegistry(), Logger.Null)
        {
            ExecRead = hooked.Enqueue,
        };
        source.Start(CancellationToken.None);

        using var sleeper = ChildProcess.Start("/bin/sleep", "30");
        var seen = CollectWhileTicking(source, time, s => s.Any(o => o.Event.Type == ProcEventType.Fork && o.Event.Tgid == sleeper.Pid && o.Sample?.Args?.Length == 2));
        var fork = seen.Last(o => o.Event.Type == ProcEventType.Fork && o.Event.Tgid == sleeper.Pid);
        Assert.Equal(new[] { "/bin/sleep", "30" }, fork.Sample!.Args);
        Assert.Equal(Environment.ProcessId, fork.Event.ParentTgid);
        Assert.True(fork.Synthetic);

        // A process first seen by a poll goes to the hash hook with the identity of the file it runs.
        Assert.Contains(fork.Sample, hooked);
        Assert.Equal(0, Shipper.Module.System.Process.Hashing.FileIdentity.Read("/bin/sleep", out var onDisk));
        Assert.Equal(onDisk, fork.Sample.ExecutableIdentity);

        sleeper.Kill();
        sleeper.Process.WaitForExit();
        seen = CollectWhileTicking(source, time, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == sleeper.Pid));
        var exit = Assert.Single(seen, o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == sleeper.Pid);
        Assert.True(exit.Synthetic);
        Assert.Equal(0u, exit.Event.ExitCode);
    }

    /// <summary>Advances fake time a period at a time until the observations satisfy the condition.</summary>
    private static List<ProcessObservation> CollectWhileTicking(ProcfsPollingSource source, FakeTimeProvider time, Func<List<ProcessObservation>, bool> done)
    {
        var seen = new List<ProcessObservation>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!done(seen) && DateTime.UtcNow < deadline)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            seen.AddRange(NetlinkTestSupport.CollectUntil(source.Observations, done, TimeSpan.FromMilliseconds(100)));
        }

        return seen;
    }
}
