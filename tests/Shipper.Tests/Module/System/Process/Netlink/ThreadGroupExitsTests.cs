using Shipper.Module.Monitoring;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Netlink;

namespace Shipper.Tests.Module.System.Process.Netlink;

/// <summary>The bookkeeping of held group exits, with the thread counts /proc would give scripted.</summary>
public sealed class ThreadGroupExitsTests
{
    private readonly Dictionary<int, int> _threads = new();
    private readonly HashSet<int> _alive = new(); // tgids whose one remaining task is not a zombie
    private readonly List<int> _looked = new();
    private readonly NetlinkSourceMetrics _metrics = new(new MetricsRegistry());
    private readonly ThreadGroupExits _exits;

    public ThreadGroupExitsTests() => _exits = new ThreadGroupExits(Count, tgid => !_alive.Contains(tgid), _metrics);

    [Fact]
    public void AMainThreadExitEndsTheProcessWhenNoOtherThreadRuns()
    {
        foreach (var left in new[] { 0, 1, -1 })
        {
            _threads[100] = left; // gone, its own zombie only, or not known
            Assert.True(_exits.OnMainThreadExit(Exit(100, 100, 5 << 8, 1000), out var exit, out _));
            Assert.Equal(5u << 8, exit.ExitCode);
            Assert.Equal(0, _exits.Count);
        }

        Assert.Equal(0, _metrics.GroupExitsDeferred.Value);
    }

    [Fact]
    public void OnceThreadsAreKnownOnlyProcessesThatHadThreadsAreLookedAt()
    {
        _threads[10] = 3; // running with threads at the scan
        _threads[11] = 1;
        _exits.Seed([10, 11], scanNs: 1000);
        Assert.True(_exits.ThreadsKnown);
        Assert.Equal(1, _exits.ThreadedCount);
        _looked.Clear();

        // Never had a second thread: its main thread's exit is its exit, /proc is not asked.
        _threads[100] = 2; // (what /proc would say, were it asked)
        Assert.True(_exits.OnMainThreadExit(Exit(100, 100, 0, 2000), out _, out _));
        Assert.Empty(_looked);

        // A thread created, then the fork drained with it (stamped before the thread): still threaded.
        _exits.OnThreadCreated(Fork(201, 200, 3000));
        _exits.OnSingleThreaded(Fork(200, 200, 2500));
        _threads[200] = 2;
        Assert.False(_exits.OnMainThreadExit(Exit(200, 200, 0, 4000), out _, out _));
        Assert.Equal([200], _looked);

        // An exec after the thread creation leaves one thread.
        _exits.OnThreadCreated(Fork(301, 300, 3000));
        _exits.OnSingleThreaded(new ProcConnectorEvent(ProcEventType.Exec, 0, 3500, 300, 300, 0, 0, 0, 0));
        _threads[300] = 2;
        Assert.True(_exits.OnMainThreadExit(Exit(300, 300, 0, 4000), out _, out _));
        Assert.Equal([200], _looked);

        // Found by the scan; an exec stamped before the scan does not clear that.
        _exits.OnSingleThreaded(new ProcConnectorEvent(ProcEventType.Exec, 0, 900, 10, 10, 0, 0, 0, 0));
        Assert.False(_exits.OnMainThreadExit(Exit(10, 10, 0, 5000), out _, out _));
        Assert.Equal([200, 10], _looked);

        // After lost events every main-thread exit asks until the next scan.
        _exits.ThreadsUnknown();
        _threads[400] = 1;
        Assert.True(_exits.OnMainThreadExit(Exit(400, 400, 0, 6000), out _, out _));
        Assert.Equal([200, 10, 400], _looked);
        Assert.Equal(3, _metrics.GroupChecks.Value); // the scan's own looks are not counted
    }

    [Fact]
    public void WhileThreadsRunTheExitIsHeldAndTheLastThreadsExitEndsTheProcess()
    {
        _threads[100] = 3;
        Assert.False(_exits.OnMainThreadExit(Exit(100, 100, 0, 1000, parent: 50, signal: 17), out _, out _));
        Assert.Equal(1, _metrics.GroupExitsDeferred.Value);

        _exits.OnThreadExit(Exit(101, 100, 3 << 8, 2000, signal: uint.MaxValue), drained: true);
        _threads[100] = 2;
        var ended = new List<ProcConnectorEvent>();
        _exits.Recheck(all: false, ended);
        Assert.Empty(ended);

        _exits.OnThreadExit(Exit(102, 100, 3 << 8, 3000, signal: uint.MaxValue), drained: true);
        _exits.OnThreadExit(Exit(101, 100, 9, 2500, signal: uint.MaxValue), drained: true); // older: ignored
        _threads[100] = 1;
        _exits.Recheck(all: false, ended);

        var exit = Assert.Single(ended);
        Assert.Equal(ProcEventType.Exit, exit.Type);
        Assert.Equal((100, 100), (exit.Pid, exit.Tgid));
        Assert.Equal(3u << 8, exit.ExitCode);
        Assert.Equal(3000ul, exit.TimestampNs);
        Assert.Equal((50, 17u), (exit.ParentTgid, exit.ExitSignal)); // the main thread's: a thread's exit names no parent
        Assert.Equal(0, _exits.Count);
    }

    [Fact]
    public void ThreadExitsDrainedWithTheMainThreadsExitCountWhenTheyCameAfterIt()
    {
        // The whole group ended within one drain: its thread exits were read before the main thread's was handed on.
        _exits.OnThreadExit(Exit(101, 100, 7 << 8, 500), drained: true); // before main's exit: not the last
        _exits.OnThreadExit(Exit(102, 100, 3 << 8, 2000), drained: true);
        _threads[100] = 1;
        Assert.True(_exits.OnMainThreadExit(Exit(100, 100, 0, 1000), out var exit, out _));
        Assert.Equal((3u << 8, 2000ul), (exit.ExitCode, exit.TimestampNs));

        // Once handed on, drained thread exits are forgotten: they say nothing about a later main-thread exit.
        _exits.OnThreadExit(Exit(201, 200, 3 << 8, 4000), drained: true);
        _exits.ForgetDrainedThreadExits();
        _threads[200] = 1;
        Assert.True(_exits.OnMainThreadExit(Exit(200, 200, 0, 5000), out exit, out _));
        Assert.Equal((0u, 5000ul), (exit.ExitCode, exit.TimestampNs));

        // A thread exit read on its own (not drained) matters only to a held group.
        _exits.OnThreadExit(Exit(301, 300, 3 << 8, 6000), drained: false);
        _threads[300] = 1;
        Assert.True(_exits.OnMainThreadExit(Exit(300, 300, 0, 5500), out exit, out _));
        Assert.Equal(0u, exit.ExitCode);

        // A thread gone from /proc just before the look has its exit queued a moment later: the drain after finds it.
        _threads[500] = 1;
        Assert.True(_exits.OnMainThreadExit(Exit(500, 500, 0, 7000), out exit, out var looked));
        Assert.True(looked);
        _exits.OnThreadExit(Exit(501, 500, 3 << 8, 7100), drained: true);
        exit = _exits.WithDrainedThreadExits(exit);
        Assert.Equal((3u << 8, 7100ul), (exit.ExitCode, exit.TimestampNs));
    }

    [Fact]
    public void OnlyGroupsWithAThreadExitAreLookedAtExceptInAFullSweep()
    {
        _threads[100] = 3;
        _threads[200] = 3;
        _exits.OnMainThreadExit(Exit(100, 100, 0, 1000), out _, out _);
        _exits.OnMainThreadExit(Exit(200, 200, 0, 1000), out _, out _);
        _looked.Clear();

        var ended = new List<ProcConnectorEvent>();
        _exits.Recheck(all: false, ended);
        Assert.Empty(_looked);
        Assert.False(_exits.HasChanged);

        _exits.OnThreadExit(Exit(101, 100, 0, 2000), drained: false);
        Assert.True(_exits.HasChanged);
        _exits.Recheck(all: false, ended);
        Assert.Equal([100], _looked);
        Assert.False(_exits.HasChanged);

        _looked.Clear();
        _threads[200] = 0; // its last thread's exit was never seen (a traced thread, say)
        _exits.Recheck(all: true, ended);
        Assert.Equal([100, 200], _looked.Order());
        Assert.Equal(200, Assert.Single(ended).Tgid);
    }

    [Fact]
    public void OneTaskLeftThatIsNotAZombieIsAThreadThatExecd()
    {
        // A thread's exec: the kernel released the main thread and gave the pid to the exec'ing thread, which
        // runs on alone while the exec completes. Held until the exec event says so.
        _threads[100] = 1;
        _alive.Add(100);
        Assert.False(_exits.OnMainThreadExit(Exit(100, 100, 0, 1000), out _, out _));
        var ended = new List<ProcConnectorEvent>();
        _exits.Recheck(all: true, ended);
        Assert.Empty(ended);
        Assert.True(_exits.Forget(100));

        // The same for a held group whose thread execs later.
        _threads[200] = 3;
        Assert.False(_exits.OnMainThreadExit(Exit(200, 200, 0, 1000), out _, out _));
        _exits.OnThreadExit(Exit(201, 200, 0, 2000), drained: false);
        _threads[200] = 1;
        _alive.Add(200);
        _exits.Recheck(all: false, ended);
        Assert.Empty(ended);

        // Once it is a zombie, the group is gone.
        _alive.Remove(200);
        _exits.Recheck(all: true, ended);
        Assert.Equal(200, Assert.Single(ended).Tgid);
    }

    [Fact]
    public void APidThatChangesHandsOrAThreadsExecEndsTheHold()
    {
        _threads[100] = 2;
        _threads[200] = 2;
        _exits.OnMainThreadExit(Exit(100, 100, 0, 1000), out _, out _);
        _exits.OnMainThreadExit(Exit(200, 200, 0, 1000), out _, out _);

        Assert.True(_exits.TryTake(100, out var exit));
        Assert.Equal(100, exit.Tgid);
        Assert.False(_exits.TryTake(100, out _));

        Assert.True(_exits.Forget(200));
        Assert.False(_exits.Forget(200));
        Assert.Equal(0, _exits.Count);
    }

    [Fact]
    public void WhenTheTableIsFullAnExitIsHandedOnAtOnceAndCounted()
    {
        for (var pid = 1; pid <= ThreadGroupExits.Capacity; pid++)
        {
            _threads[pid] = 2;
            Assert.False(_exits.OnMainThreadExit(Exit(pid, pid, 0, 1000), out _, out _));
        }

        _threads[999_999] = 2;
        Assert.True(_exits.OnMainThreadExit(Exit(999_999, 999_999, 0, 1000), out _, out _));
        Assert.Equal(1, _metrics.GroupExitsFull.Value);
        Assert.Equal(ThreadGroupExits.Capacity, _exits.Count);
    }

    private int Count(int tgid)
    {
        _looked.Add(tgid);
        return _threads.TryGetValue(tgid, out var count) ? count : 0;
    }

    private static ProcConnectorEvent Fork(int pid, int tgid, ulong timestampNs) =>
        new(ProcEventType.Fork, 0, timestampNs, pid, tgid, 1, 1, 0, 0);

    private static ProcConnectorEvent Exit(int pid, int tgid, uint code, ulong timestampNs, int parent = 0, uint signal = 17) =>
        new(ProcEventType.Exit, 0, timestampNs, pid, tgid, parent, parent, code, signal);
}
