using global::System.Runtime.CompilerServices;
using global::System.Runtime.InteropServices;

namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// Exits of processes whose main thread ended before the rest of the group. The proc connector reports every
/// task's exit and none says "the process is gone": the main thread's exit (pid == tgid) ends the process only if
/// no other thread outlives it (main calling pthread_exit, say, leaves the others running), and then the process
/// ends with its last thread, whose exit code is the wait status its parent gets.
/// <para>
/// A process that never had a second thread since its fork or exec (known from the thread creations the kernel
/// reports, and from a /proc scan for those already running at start-up, see <see cref="Seed"/>) ends with its
/// main thread: no question asked. Otherwise /proc is asked how many tasks the group still has
/// (<see cref="Procfs.ProcReader.CountThreads"/>, one statx): none, or 1 that is the main thread's unreaped zombie
/// (<see cref="Procfs.ProcReader.IsZombie"/>, one readlink), means the process has ended, and the exit is handed on
/// at once. Otherwise threads run on: the exit is held here, each later thread exit of the group replaces its code
/// and time (the last one wins), and the group is looked at again after each thread exit and once a second until
/// it is gone. A fork that takes the pid proves it gone; an exec under the pid means a thread exec'd (the kernel
/// ends the main thread for it) and the process lives on.
/// </para>
/// Reader thread only.
/// </summary>
internal sealed class ThreadGroupExits
{
    /// <summary>Most exits held at once; past it a main-thread exit is handed on as the process's exit.</summary>
    public const int Capacity = 4096;

    private readonly Func<int, int> _countThreads;
    private readonly Func<int, bool> _isZombie;
    private readonly NetlinkSourceMetrics _metrics;
    private readonly Dictionary<int, ProcConnectorEvent> _held = new();

    // Processes that had another thread since their fork or exec: the time (CLOCK_MONOTONIC ns) of the latest
    // thread creation, or of the scan that found threads. A fork or exec event clears the entry only if it is
    // later: a drain hands on a fork after the thread creations drained with it, however much later they came.
    private readonly Dictionary<int, ulong> _threaded = new();
    private bool _threadsKnown;

    // Thread exits drained with the main-thread exits they may follow: a drain takes all of them before any is
    // handed on, so a group that ended within one drain window is told by these, not by /proc. The latest per
    // process; cleared once the drained events are all handed on.
    private readonly Dictionary<int, ProcConnectorEvent> _drainedThreadExits = new();
    private readonly HashSet<int> _changed = new();
    private readonly List<int> _gone = new();

    /// <param name="countThreads">The tasks a thread group still has: 0 gone, -1 unknown (see <see cref="Procfs.ProcReader.CountThreads"/>).</param>
    /// <param name="isZombie">Whether a task is a zombie (see <see cref="Procfs.ProcReader.IsZombie"/>).</param>
    /// <param name="metrics">Counts the looks at /proc and what became of the exits.</param>
    public ThreadGroupExits(Func<int, int> countThreads, Func<int, bool> isZombie, NetlinkSourceMetrics metrics)
    {
        _countThreads = countThreads;
        _isZombie = isZombie;
        _metrics = metrics;
    }

    /// <summary>Exits held (processes whose main thread has ended while other threads still ran).</summary>
    public int Count => _held.Count;

    /// <summary>Whether a held group had a thread exit since it was last looked at.</summary>
    public bool HasChanged => _changed.Count > 0;

    /// <summary>
    /// Whether every process that has had a second thread is known (since <see cref="Seed"/>, until
    /// <see cref="ThreadsUnknown"/>). Until then every main-thread exit asks /proc.
    /// </summary>
    public bool ThreadsKnown => _threadsKnown;

    /// <summary>Processes known to have had a second thread (tests).</summary>
    internal int ThreadedCount => _threaded.Count;

    /// <summary>
    /// Starts knowing which processes have threads: those among <paramref name="pids"/> (a /proc listing begun at
    /// <paramref name="scanNs"/>, CLOCK_MONOTONIC) that have more than one task now, and from then on those
    /// whose thread creations are reported.
    /// </summary>
    public void Seed(List<int> pids, ulong scanNs)
    {
        _threaded.Clear();
        foreach (var pid in pids)
        {
            if (_countThreads(pid) > 1)
            {
                _threaded[pid] = scanNs;
            }
        }

        _threadsKnown = true;
    }

    /// <summary>Kernel events were lost, thread creations maybe among them: ask /proc at every main-thread exit until <see cref="Seed"/>.</summary>
    public void ThreadsUnknown() => _threadsKnown = false;

    /// <summary>A task was created in an existing thread group (a fork event with pid != tgid).</summary>
    public void OnThreadCreated(in ProcConnectorEvent fork)
    {
        ref var latest = ref CollectionsMarshal.GetValueRefOrAddDefault(_threaded, fork.Tgid, out _);
        if (fork.TimestampNs > latest)
        {
            latest = fork.TimestampNs;
        }
    }

    /// <summary>A process was forked or exec'd: either way it has one thread now.</summary>
    public void OnSingleThreaded(in ProcConnectorEvent e)
    {
        if (_threaded.Count > 0 && _threaded.TryGetValue(e.ProcessPid, out var since) && e.TimestampNs > since)
        {
            _threaded.Remove(e.ProcessPid);
        }
    }

    /// <summary>
    /// A main thread's exit (pid == tgid). True, with the process's exit in <paramref name="exit"/>, when the
    /// process has ended; false when threads still run (the exit is held until they are gone).
    /// <paramref name="looked"/> says whether /proc was asked (the process had threads).
    /// </summary>
    public bool OnMainThreadExit(in ProcConnectorEvent main, out ProcConnectorEvent exit, out bool looked)
    {
        looked = false;
        var tgid = main.Tgid;
        exit = main;
        var threaded = _threaded.Remove(tgid) || !_threadsKnown;
        if (_drainedThreadExits.Remove(tgid, out var thread))
        {
            threaded = true;
            if (thread.TimestampNs > main.TimestampNs)
            {
                exit = Later(exit, thread);
            }
        }

        if (_held.Remove(tgid, out var held))
        {
            // A second main-thread exit while one is held (a thread's exec whose exec event was lost): the
            // later one stands for the process.
            threaded = true;
            _changed.Remove(tgid);
            exit = held.TimestampNs > exit.TimestampNs ? held : exit;
        }

        if (!threaded)
        {
            return true;
        }

        looked = true;
        if (IsGone(tgid))
        {
            return true;
        }

        if (_held.Count >= Capacity)
        {
            _metrics.GroupExitsFull.Increment();
            return true;
        }

        _held.Add(tgid, exit);
        _metrics.GroupExitsDeferred.Increment();
        return false;
    }

    /// <summary>
    /// A thread's exit (pid != tgid). For a held group it becomes the process's exit if it is the latest;
    /// <paramref name="drained"/> (read with main-thread exits not handed on yet) keeps it for those.
    /// </summary>
    public void OnThreadExit(in ProcConnectorEvent thread, bool drained)
    {
        var tgid = thread.Tgid;
        ref var held = ref CollectionsMarshal.GetValueRefOrNullRef(_held, tgid);
        if (!Unsafe.IsNullRef(ref held))
        {
            if (thread.TimestampNs >= held.TimestampNs)
            {
                held = Later(held, thread);
            }

            _changed.Add(tgid);
            return;
        }

        if (drained)
        {
            ref var latest = ref CollectionsMarshal.GetValueRefOrAddDefault(_drainedThreadExits, tgid, out var exists);
            if (!exists || thread.TimestampNs >= latest.TimestampNs)
            {
                latest = thread;
            }
        }
    }

    /// <summary>
    /// The exit of an ended process as of the thread exits drained since <see cref="OnMainThreadExit"/> looked at
    /// /proc: a thread that ended just before the look is gone from /proc before its exit is queued.
    /// </summary>
    public ProcConnectorEvent WithDrainedThreadExits(in ProcConnectorEvent exit) =>
        _drainedThreadExits.Remove(exit.Tgid, out var thread) && thread.TimestampNs > exit.TimestampNs ? Later(exit, thread) : exit;

    /// <summary>Takes the held exit of <paramref name="tgid"/> (its pid went to another task: the group is gone).</summary>
    public bool TryTake(int tgid, out ProcConnectorEvent exit)
    {
        _changed.Remove(tgid);
        return _held.Remove(tgid, out exit);
    }

    /// <summary>Drops the held exit of <paramref name="tgid"/>: a thread exec'd, the process lives on.</summary>
    public bool Forget(int tgid)
    {
        _changed.Remove(tgid);
        _drainedThreadExits.Remove(tgid);
        return _held.Remove(tgid);
    }

    /// <summary>Called once every drained event has been handed on: their thread exits are of no more use.</summary>
    public void ForgetDrainedThreadExits()
    {
        if (_drainedThreadExits.Count > 0)
        {
            _drainedThreadExits.Clear();
        }
    }

    /// <summary>
    /// Looks at the held groups that had a thread exit since the last look (all of them with
    /// <paramref name="all"/>) and moves the exits of those that are gone to <paramref name="ended"/>.
    /// </summary>
    public void Recheck(bool all, List<ProcConnectorEvent> ended)
    {
        if (all)
        {
            foreach (var tgid in _held.Keys)
            {
                Check(tgid);
            }
        }
        else
        {
            foreach (var tgid in _changed)
            {
                if (_held.ContainsKey(tgid))
                {
                    Check(tgid);
                }
            }
        }

        _changed.Clear();
        foreach (var tgid in _gone)
        {
            if (_held.Remove(tgid, out var exit))
            {
                ended.Add(exit);
            }
        }

        _gone.Clear();
    }

    private void Check(int tgid)
    {
        if (IsGone(tgid))
        {
            _gone.Add(tgid);
        }
    }

    /// <summary>
    /// Whether no task of the group runs any more. One task left is the main thread's unreaped zombie, unless a
    /// thread's exec has just made itself the main thread (the kernel releases the old one at once, and reports
    /// the exec only once the new program is loaded and the old memory freed): then it is alive.
    /// </summary>
    private bool IsGone(int tgid)
    {
        _metrics.GroupChecks.Increment();
        var tasks = _countThreads(tgid);
        return tasks <= 0 || (tasks == 1 && _isZombie(tgid));
    }

    /// <summary>
    /// The process's exit as of a later exit of its group: that exit's status, time and CPU; pid, parent and the
    /// signal the parent gets stay the main thread's (a thread's exit names neither).
    /// </summary>
    private static ProcConnectorEvent Later(in ProcConnectorEvent exit, in ProcConnectorEvent later) =>
        exit with { ExitCode = later.ExitCode, TimestampNs = later.TimestampNs, Cpu = later.Cpu };
}
