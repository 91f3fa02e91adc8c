using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using Shipper.Module.Config;
using Shipper.Module.Logging;

namespace Shipper.Watchdog;

/// <summary>
/// The watcher process of osquery's watchdog (FACTS §9): starts the worker, measures it every interval from
/// /proc, stops it when it breaks a limit (SIGUSR1 for a diagnostic snapshot, SIGTERM to drain, SIGKILL
/// after <c>forced_shutdown_delay</c>), respawns it, gives up when it keeps dying at start, and checks its
/// own memory. SIGTERM/SIGINT stop the worker gracefully and end <see cref="Run"/> with 0.
/// </summary>
public sealed class Watcher
{
    private readonly WatchdogSettings _settings;
    private readonly WorkerCommand _command;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private readonly Action<string> _forwardLine;
    private readonly ProcfsUsageReader _reader = new();
    private readonly WatchdogState _state = new();
    private readonly ManualResetEvent _timerFired = new(false);
    private readonly int _pid = Environment.ProcessId;
    private readonly TimeSpan _stopPatience;
    private long? _ownFootprint;
    private long _startedAt;
    private volatile int _workerPid;

    // The proc connector positions the last worker reported in its heartbeats, for the next one.
    private string _positions = "";

    /// <param name="log">The watcher's own log; name it <c>watcher</c> so its lines stand apart from the forwarded worker's.</param>
    /// <param name="forwardWorkerLine">Where each stderr line of the worker goes; our stderr by default.</param>
    /// <param name="workerDrainTimeout">
    /// How long the worker may take to drain its queue when stopped (<c>shipper.shutdown_timeout</c>). On
    /// SIGTERM/SIGINT the watcher waits that long plus a second before SIGKILL, if it is longer than
    /// forced_shutdown_delay, so that stopping the service never cuts a drain short. A worker stopped for
    /// breaking a limit gets forced_shutdown_delay only.
    /// </param>
    public Watcher(WatchdogSettings settings, WorkerCommand command, Logger log, TimeProvider? time = null, Action<string>? forwardWorkerLine = null, TimeSpan? workerDrainTimeout = null)
    {
        var drain = workerDrainTimeout is { } d ? d + TimeSpan.FromSeconds(1) : TimeSpan.Zero;
        _stopPatience = drain > settings.ForcedShutdownDelay ? drain : settings.ForcedShutdownDelay;
        _settings = settings;
        _command = command;
        _log = log;
        _time = time ?? TimeProvider.System;
        _forwardLine = forwardWorkerLine ?? (static line => Console.Error.WriteLine(line));
    }

    /// <summary>The running worker's pid, or 0 between workers.</summary>
    public int WorkerPid => _workerPid;

    /// <summary>The counters so far (restarts, kills, stalls, last kill reason); a copy.</summary>
    public WatchdogState State
    {
        get
        {
            lock (_state)
            {
                return _state.Clone();
            }
        }
    }

    /// <summary>Runs until SIGTERM or SIGINT (then stops the worker gracefully and returns 0) or until it must give up.</summary>
    public int RunUntilSignalled()
    {
        using var stop = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            // The watcher decides when to exit: after the worker drained.
            context.Cancel = true;
            if (!stop.IsCancellationRequested)
            {
                _log.Info($"watcher ({_pid}) received {context.Signal}; stopping worker ({_workerPid}) gracefully");
                NotifySystemdStopping();
                stop.Cancel();
            }
        }

        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        return Run(stop.Token);
    }

    /// <summary>Supervises workers until <paramref name="stop"/> is cancelled (returns 0) or the watcher must give up (non-zero, see <see cref="WatcherExitCodes"/>).</summary>
    public int Run(CancellationToken stop)
    {
        if (!Thread.CurrentThread.IsThreadPoolThread)
        {
            return RunLoop(stop);
        }

        // A pool thread may retire while the worker runs, and the worker's parent-death signal follows the
        // thread that forked it: supervise from a thread we own.
        var exitCode = 0;
        var thread = new Thread(() => exitCode = RunLoop(stop)) { Name = "watcher" };
        thread.Start();
        thread.Join();
        return exitCode;
    }

    private int RunLoop(CancellationToken stop)
    {
        _startedAt = _time.GetTimestamp();
        var policy = new RespawnPolicy(_settings, _time);
        var limits = new WorkerLimitChecker(_settings, Environment.ProcessorCount);
        _log.Info($"watcher ({_pid}) supervising worker `{_command}` with {_settings}");
        while (true)
        {
            if (stop.IsCancellationRequested)
            {
                _log.Info($"watcher ({_pid}) stopped");
                return WatcherExitCodes.Stopped;
            }

            var worker = Spawn();
            policy.WorkerStarted();
            var end = WorkerEnd.DiedAtStart;
            var exitCode = -1;
            if (worker is not null)
            {
                using (worker)
                {
                    limits.Reset();
                    end = Supervise(worker, limits, stop);
                    worker.DrainOutput(TimeSpan.FromSeconds(1));
                    if (worker.Link is { Positions.Length: > 0 } link)
                    {
                        _positions = link.Positions;
                    }

                    exitCode = worker.HasExited ? worker.ExitCode : -1;
                    _workerPid = 0;
                }
            }

            switch (end)
            {
                case WorkerEnd.StopRequested:
                    _log.Info($"watcher ({_pid}) stopped");
                    return WatcherExitCodes.Stopped;
                case WorkerEnd.SurvivedKill:
                    return WatcherExitCodes.Catastrophic;
                case WorkerEnd.WatcherUnhealthy:
                    return WatcherExitCodes.WatcherUnhealthy;
            }

            var decision = policy.WorkerEnded(stoppedByWatcher: end == WorkerEnd.StoppedForLimit);
            if (decision.GiveUp)
            {
                _log.Error(string.Create(CultureInfo.InvariantCulture,
                    $"watcher ({_pid}) giving up: the worker died {decision.QuickDeaths} times in a row within {RespawnPolicy.QuickDeathWindow.TotalSeconds:0}s of its start (watchdog.respawn_limit {_settings.RespawnLimit}); last exit code {exitCode}; see the worker's log lines above for why"));
                return WatcherExitCodes.RespawnLimitReached;
            }

            if (decision.QuickDeath)
            {
                _log.Warn($"worker respawning too quickly: it died {FormatSpan(decision.Uptime)} after its start ({decision.QuickDeaths} of {_settings.RespawnLimit} quick deaths in a row); respawning in {FormatSpan(decision.Delay)}");
            }
            else
            {
                _log.Info($"respawning worker in {FormatSpan(decision.Delay)}");
            }

            if (Wait(decision.Delay, stop, null) == WaitResult.StopRequested)
            {
                _log.Info($"watcher ({_pid}) stopped");
                return WatcherExitCodes.Stopped;
            }

            lock (_state)
            {
                _state.WorkerRestarts++;
            }
        }
    }

    private WorkerProcess? Spawn()
    {
        string encodedState;
        lock (_state)
        {
            encodedState = _state.Encode();
        }

        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [WorkerWatchdog.WorkerEnvironmentVariable] = _pid.ToString(CultureInfo.InvariantCulture),
            [WatchdogState.EnvironmentVariable] = encodedState,
        };
        WorkerLink? link = null;
        try
        {
            link = WorkerLink.Open(_time);
            environment[WorkerLink.EnvironmentVariable] = link.WorkerEnd;
            var worker = WorkerProcess.Start(_command, environment, _forwardLine, link);
            link = null; // the worker owns it now
            _workerPid = worker.Pid;
            var handover = new WorkerHandover(_command.Overrides, _positions);
            if (!worker.Link!.WorkerStarted(handover, out var error))
            {
                _log.Warn($"worker ({worker.Pid}) started but cannot be handed {handover}: {error}");
            }
            else
            {
                _log.Info($"worker ({worker.Pid}) started; handed {handover} over its link");
            }

            return worker;
        }
        catch (Exception e) when (e is Win32Exception or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            link?.Dispose();
            _log.Error($"watcher ({_pid}) cannot start worker `{_command}`: {e.Message}");
            return null;
        }
    }

    private WorkerEnd Supervise(WorkerProcess worker, WorkerLimitChecker limits, CancellationToken stop)
    {
        var startedAt = _time.GetTimestamp();
        while (true)
        {
            switch (Wait(_settings.Interval, stop, worker.Exited))
            {
                case WaitResult.StopRequested:
                    return StopWorker(worker, diagnostics: false, _stopPatience) ? WorkerEnd.StopRequested : WorkerEnd.SurvivedKill;
                case WaitResult.WorkerExited when stop.IsCancellationRequested:
                    // The stop signal reached the worker first (Ctrl-C goes to the whole process group).
                    worker.DrainOutput(TimeSpan.FromSeconds(1));
                    _log.Info($"worker ({worker.Pid}) stopped with exit code {worker.ExitCode}");
                    return WorkerEnd.StopRequested;
                case WaitResult.WorkerExited:
                    ReportExit(worker, _time.GetElapsedTime(startedAt));
                    return WorkerEnd.ExitedOnItsOwn;
            }

            if (_reader.TryRead(worker.Pid, out var usage))
            {
                var reason = limits.Observe(_time.GetElapsedTime(startedAt), usage);
                if (reason is not null)
                {
                    _log.Warn($"worker ({worker.Pid}) stopping: {reason.Description}");
                    lock (_state)
                    {
                        if (reason.Kind == WorkerStopKind.Memory)
                        {
                            _state.KillsMemory++;
                        }
                        else
                        {
                            _state.KillsCpu++;
                        }

                        _state.LastKillReason = reason.Description;
                    }

                    return StopWorker(worker, diagnostics: true, _settings.ForcedShutdownDelay) ? WorkerEnd.StoppedForLimit : WorkerEnd.SurvivedKill;
                }
            }

            if (worker.Link is { } link)
            {
                if (link.Positions.Length > 0)
                {
                    _positions = link.Positions;
                }

                if (_settings.HeartbeatTimeout > TimeSpan.Zero)
                {
                    // Start-up (config, the first /proc scan) may be slow on a loaded host: until its first
                    // heartbeat a worker has watchdog.delay, as for the limits, if that is longer.
                    var never = link.LastHeartbeat is null;
                    var age = _time.GetElapsedTime(link.LastHeartbeat ?? startedAt);
                    if (age > (never && _settings.Delay > _settings.HeartbeatTimeout ? _settings.Delay : _settings.HeartbeatTimeout))
                    {
                        return KillHung(worker, age, never);
                    }
                }
            }

            if (!IsWatcherHealthy(out var problem))
            {
                _log.Error($"watcher ({_pid}) stopping: {problem}");
                StopWorker(worker, diagnostics: true, _stopPatience);
                return WorkerEnd.WatcherUnhealthy;
            }
        }
    }

    /// <summary>
    /// A worker that stopped sending heartbeats gets SIGKILL at once: a stopped process cannot act on SIGTERM (or
    /// SIGUSR1) until continued, and a deadlocked one would not drain anyway. Counted in watchdog.kills_hung.
    /// </summary>
    private WorkerEnd KillHung(WorkerProcess worker, TimeSpan age, bool never)
    {
        var seen = never
            ? $"no heartbeat in the {FormatSpan(age)} since it started, over watchdog.heartbeat_timeout {ValueParsers.FormatDuration(_settings.HeartbeatTimeout)} and watchdog.delay {ValueParsers.FormatDuration(_settings.Delay)}"
            : $"last heartbeat {FormatSpan(age)} ago, over watchdog.heartbeat_timeout {ValueParsers.FormatDuration(_settings.HeartbeatTimeout)}";
        var reason = $"hung: {seen} (process state {ProcessState(worker.Pid)})";
        _log.Warn($"worker ({worker.Pid}) stopped making progress: {reason["hung: ".Length..]}; sending SIGKILL");
        lock (_state)
        {
            _state.KillsHung++;
            _state.LastKillReason = reason;
        }

        var started = _time.GetTimestamp();
        worker.Signal(LibC.SIGKILL);
        var grace = _settings.ForcedShutdownDelay > TimeSpan.FromSeconds(2) ? _settings.ForcedShutdownDelay : TimeSpan.FromSeconds(2);
        if (Wait(grace, CancellationToken.None, worker.Exited) != WaitResult.WorkerExited)
        {
            _log.Error($"worker ({worker.Pid}) survived SIGKILL for {FormatSpan(grace)}; the watcher exits with code {WatcherExitCodes.Catastrophic} (catastrophic)");
            return WorkerEnd.SurvivedKill;
        }

        worker.DrainOutput(TimeSpan.FromSeconds(1));
        _log.Info($"worker ({worker.Pid}) killed {FormatSpan(_time.GetElapsedTime(started))} after SIGKILL (exit code {(worker.HasExited ? worker.ExitCode : -1)})");
        return WorkerEnd.StoppedForLimit;
    }

    /// <summary>The state letter of /proc/&lt;pid&gt;/stat with its meaning (T stopped, D uninterruptible sleep, …), for the log.</summary>
    private static string ProcessState(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[stat.LastIndexOf(')') + 2];
            var meaning = state switch
            {
                'R' => "running",
                'S' => "sleeping",
                'D' => "uninterruptible sleep",
                'T' => "stopped",
                't' => "stopped by a tracer",
                'Z' => "zombie",
                _ => "other",
            };
            return $"{state}, {meaning}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return "unknown";
        }
    }

    /// <summary>SIGUSR1 (diagnostics, when stopping for a limit), SIGTERM, then SIGKILL after <paramref name="patience"/>. False if the worker survived even that.</summary>
    private bool StopWorker(WorkerProcess worker, bool diagnostics, TimeSpan patience)
    {
        var started = _time.GetTimestamp();
        if (diagnostics)
        {
            worker.Signal(LibC.SIGUSR1);
        }

        // A worker already dying refuses signals (ESRCH); the wait below still collects its exit.
        worker.Signal(LibC.SIGTERM);
        if (Wait(patience, CancellationToken.None, worker.Exited) != WaitResult.WorkerExited)
        {
            var why = patience == _settings.ForcedShutdownDelay ? "watchdog.forced_shutdown_delay" : "shipper.shutdown_timeout + 1s";
            _log.Warn($"worker ({worker.Pid}) still running {FormatSpan(patience)} after SIGTERM ({why}); sending SIGKILL");
            worker.Signal(LibC.SIGKILL);
            var grace = _settings.ForcedShutdownDelay > TimeSpan.FromSeconds(2) ? _settings.ForcedShutdownDelay : TimeSpan.FromSeconds(2);
            if (Wait(grace, CancellationToken.None, worker.Exited) != WaitResult.WorkerExited)
            {
                _log.Error($"worker ({worker.Pid}) survived SIGKILL for {FormatSpan(grace)}; the watcher exits with code {WatcherExitCodes.Catastrophic} (catastrophic)");
                return false;
            }
        }

        worker.DrainOutput(TimeSpan.FromSeconds(1));
        var exitCode = worker.HasExited ? worker.ExitCode : -1;
        _log.Info($"worker ({worker.Pid}) stopped with exit code {exitCode} {FormatSpan(_time.GetElapsedTime(started))} after the stop began");
        return true;
    }

    private void ReportExit(WorkerProcess worker, TimeSpan uptime)
    {
        worker.DrainOutput(TimeSpan.FromSeconds(1));
        var code = worker.ExitCode;
        if (code == WorkerExitCodes.PublisherStalled)
        {
            lock (_state)
            {
                _state.Stalls++;
            }

            _log.Warn($"worker ({worker.Pid}) exited with code {code} after {FormatSpan(uptime)}: its publisher stalled (watchdog.publisher_stall_exit)");
            return;
        }

        var signal = code > 128 && code < 128 + 65 ? $" (killed by signal {code - 128}?)" : "";
        _log.Warn($"worker ({worker.Pid}) exited with code {code}{signal} after {FormatSpan(uptime)}");
    }

    /// <summary>The watcher's own resident memory may grow by memory_limit over its first reading after delay.</summary>
    private bool IsWatcherHealthy(out string problem)
    {
        problem = "";
        if (_time.GetElapsedTime(_startedAt) < _settings.Delay || !_reader.TryRead(0, out var own))
        {
            return true;
        }

        if (_ownFootprint is not { } initial)
        {
            _ownFootprint = own.ResidentBytes;
            return true;
        }

        if (own.ResidentBytes - initial <= _settings.MemoryLimitBytes)
        {
            return true;
        }

        problem = $"its own memory {WatchdogSettings.FormatBytes(own.ResidentBytes)} resident is {WatchdogSettings.FormatBytes(own.ResidentBytes - initial)} above its initial {WatchdogSettings.FormatBytes(initial)}, over watchdog.memory_limit {_settings.MemoryLimitText}";
        return false;
    }

    private WaitResult Wait(TimeSpan timeout, CancellationToken stop, WaitHandle? workerExited)
    {
        WaitHandle[] handles = workerExited is null ? [stop.WaitHandle] : [stop.WaitHandle, workerExited];
        int index;
        if (_time == TimeProvider.System)
        {
            // The real clock: the kernel times the wait; no pool thread needed to wake us.
            index = WaitHandle.WaitAny(handles, timeout);
        }
        else
        {
            _timerFired.Reset();
            using var timer = _time.CreateTimer(static state => ((ManualResetEvent)state!).Set(), _timerFired, timeout, Timeout.InfiniteTimeSpan);
            index = WaitHandle.WaitAny([.. handles, _timerFired]);
        }

        if (index == 0 && stop.IsCancellationRequested)
        {
            return WaitResult.StopRequested;
        }

        return workerExited is not null && index == 1 ? WaitResult.WorkerExited : WaitResult.TimedOut;
    }

    private void NotifySystemdStopping()
    {
        try
        {
            using var systemd = SystemdNotifier.FromEnvironment(Environment.GetEnvironmentVariable);
            systemd?.Send("STOPPING=1");
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ArgumentException)
        {
            _log.Warn($"cannot tell systemd we are stopping: {e.Message}");
        }
    }

    private static string FormatSpan(TimeSpan span) =>
        span < TimeSpan.FromSeconds(10)
            ? span.TotalSeconds.ToString("0.0##", CultureInfo.InvariantCulture) + "s"
            : ValueParsers.FormatDuration(TimeSpan.FromSeconds(Math.Round(span.TotalSeconds)));

    private enum WaitResult
    {
        TimedOut,
        StopRequested,
        WorkerExited,
    }

    private enum WorkerEnd
    {
        DiedAtStart,
        ExitedOnItsOwn,
        StoppedForLimit,
        StopRequested,
        WatcherUnhealthy,
        SurvivedKill,
    }
}
