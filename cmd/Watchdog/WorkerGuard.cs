using System.Runtime.InteropServices;
using Shipper.Module.Logging;

namespace Shipper.Watchdog;

/// <summary>
/// Makes a worker follow its watcher: the kernel sends SIGTERM when the watcher dies (PR_SET_PDEATHSIG),
/// and every interval the worker checks that its parent is still the watcher, in case the signal was missed
/// (the watcher died before we armed it, or the thread that forked us ended). When the watcher is gone
/// the worker is asked to stop; if it has not exited after <c>forced_shutdown_delay</c> it ends itself.
/// </summary>
public sealed class WorkerGuard : IDisposable
{
    private readonly int _watcherPid;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _forcedShutdownDelay;
    private readonly Logger _log;
    private readonly Action<int> _requestExit;
    private readonly Action<int> _exitNow;
    private readonly TimeProvider _time;
    private readonly Func<int> _parentPid;
    private ITimer? _timer;
    private ITimer? _forcedExit;
    private int _exiting;

    /// <param name="requestExit">Stops the worker gracefully (drain, as on SIGTERM) and makes it exit with the given code.</param>
    /// <param name="exitNow">The last resort after forced_shutdown_delay; <c>_exit(2)</c> unless a test replaces it.</param>
    /// <param name="parentPid">Reads the parent pid; getppid(2) unless a test replaces it.</param>
    public WorkerGuard(int watcherPid, TimeSpan interval, TimeSpan forcedShutdownDelay, Logger log, Action<int> requestExit, TimeProvider time, Action<int>? exitNow = null, Func<int>? parentPid = null)
    {
        _watcherPid = watcherPid;
        _interval = interval;
        _forcedShutdownDelay = forcedShutdownDelay;
        _log = log;
        _requestExit = requestExit;
        _time = time;
        _exitNow = exitNow ?? ExitNow;
        _parentPid = parentPid ?? LibC.GetParentPid;
    }

    public int WatcherPid => _watcherPid;

    public bool WatcherGone => Volatile.Read(ref _exiting) != 0;

    /// <summary>Arms the parent-death signal, then checks the parent now and every interval.</summary>
    public void Start()
    {
        ArmDeathSignal();
        StartChecks();
    }

    /// <summary>Asks the kernel for SIGTERM when the watcher dies (PR_SET_PDEATHSIG).</summary>
    public void ArmDeathSignal()
    {
        if (LibC.Prctl(LibC.PR_SET_PDEATHSIG, LibC.SIGTERM, 0, 0, 0) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            _log.Warn($"cannot ask the kernel for SIGTERM when the watcher dies (prctl PR_SET_PDEATHSIG: {Marshal.GetPInvokeErrorMessage(errno)}); relying on the parent check every {_interval.TotalSeconds:0.###}s");
        }
    }

    /// <summary>Checks the parent now (the watcher may have died before the signal was armed) and every interval.</summary>
    public void StartChecks()
    {
        if (CheckWatcher())
        {
            _timer = _time.CreateTimer(static state => ((WorkerGuard)state!).CheckWatcher(), this, _interval, _interval);
        }
    }

    /// <summary>True while the parent is the watcher; otherwise starts the exit (once) and returns false.</summary>
    public bool CheckWatcher()
    {
        var parent = _parentPid();
        if (parent == _watcherPid)
        {
            return true;
        }

        if (Interlocked.Exchange(ref _exiting, 1) == 0)
        {
            _timer?.Dispose();
            _log.Error($"watcher ({_watcherPid}) is gone (our parent is now {parent}); worker ({Environment.ProcessId}) stopping");
            _forcedExit = _time.CreateTimer(static state => ((WorkerGuard)state!).ForceExit(), this, _forcedShutdownDelay, Timeout.InfiniteTimeSpan);
            try
            {
                _requestExit(WorkerExitCodes.WatcherGone);
            }
            catch (Exception e)
            {
                _log.Error($"stopping after the watcher died failed: {e.Message}; exiting now");
                _exitNow(WorkerExitCodes.WatcherGone);
            }
        }

        return false;
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _forcedExit?.Dispose();
    }

    private void ForceExit()
    {
        _log.Error($"worker ({Environment.ProcessId}) still running {_forcedShutdownDelay.TotalSeconds:0.###}s after its watcher died; exiting now");
        _exitNow(WorkerExitCodes.WatcherGone);
    }

    private static void ExitNow(int code)
    {
        try
        {
            Console.Error.Flush();
            Console.Out.Flush();
        }
        catch (IOException)
        {
            // Nobody is reading any more: the watcher is gone.
        }

        LibC.ExitImmediately(code);
    }
}
