using System.Globalization;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Watchdog;

/// <summary>
/// Everything of the watchdog that lives inside the process running the pipeline (the worker, or the one
/// process when <c>watchdog.level: -1</c>): the <c>watchdog.*</c> metrics with the watcher's counters, the
/// SIGUSR1 diagnostic snapshot, the publisher stall detector, systemd notifications and, in a watched
/// worker, the guard that follows the watcher's death (and, in a build with test hooks, the hog knob).
/// </summary>
public sealed class WorkerWatchdog : IDisposable
{
    /// <summary>Set by the watcher in the worker's environment, to the watcher's pid: "you are the worker".</summary>
    public const string WorkerEnvironmentVariable = "SHIPPER_WATCHDOG_WORKER";

    private readonly List<IDisposable> _owned = new();

    private WorkerWatchdog(WatchdogMetrics metrics, WorkerDiagnostics diagnostics)
    {
        Metrics = metrics;
        Diagnostics = diagnostics;
    }

    /// <summary>The pid of the watcher that started this process, or null when we are not a watched worker.</summary>
    public static int? WatcherPid => WatcherPidFrom(Environment.GetEnvironmentVariable);

    /// <summary>True in a worker the watcher started; <c>shipper run</c> must then run the pipeline, not another watcher.</summary>
    public static bool IsWorkerProcess => WatcherPid is not null;

    public WatchdogMetrics Metrics { get; }

    public WorkerDiagnostics Diagnostics { get; }

    public WorkerGuard? Guard { get; private set; }

    public PublisherStallDetector? StallDetector { get; private set; }

    public SystemdHeartbeat? Systemd { get; private set; }

    /// <summary>The heartbeat to the watcher, in a watched worker with <c>watchdog.heartbeat_timeout</c> on.</summary>
    public WorkerHeartbeat? Heartbeat { get; private set; }

    /// <summary>
    /// Call early in the worker (or single process), once the metrics registry and publisher exist and
    /// before the modules start.
    /// </summary>
    /// <param name="requestExit">Stop the pipeline as on SIGTERM (drain) and exit the process with this code.</param>
    /// <param name="publisher">The publisher's progress, for the stall detector and the diagnostics; null to skip both.</param>
    /// <param name="trackedProcesses">One line per tracked process, for the SIGUSR1 snapshot.</param>
    /// <param name="environment">Reads the process environment (the watcher's marks, systemd's variables); the real one when null.</param>
    /// <param name="link">The link to the watcher (<see cref="WatcherLink.FromEnvironment"/>); heartbeats go there.</param>
    /// <param name="progress">The loops and proc connector positions the heartbeat reports on.</param>
    public static WorkerWatchdog Start(
        WatchdogSettings settings,
        Logger log,
        MetricsRegistry metrics,
        Action<int> requestExit,
        IPublisherProgress? publisher = null,
        Func<IEnumerable<string>>? trackedProcesses = null,
        TimeProvider? time = null,
        Func<string, string?>? environment = null,
        WatcherLink? link = null,
        WorkerProgress? progress = null)
    {
        time ??= TimeProvider.System;
        environment ??= Environment.GetEnvironmentVariable;
        var watcherPid = WatcherPidFrom(environment);
        var inherited = InheritedState(environment(WatchdogState.EnvironmentVariable), log);
        var diagnostics = new WorkerDiagnostics(metrics, publisher, trackedProcesses);
        var watchdog = new WorkerWatchdog(WatchdogMetrics.Register(metrics, inherited), diagnostics);

        // First, so that a SIGUSR1 from the watcher never finds the default action (which terminates).
        watchdog._owned.Add(diagnostics.ListenForSignal(log));

        if (watcherPid is { } pid)
        {
            watchdog.Guard = new WorkerGuard(pid, settings.Interval, settings.ForcedShutdownDelay, log, requestExit, time);
            watchdog._owned.Add(watchdog.Guard);
            watchdog.Guard.Start();
#if SHIPPER_TEST_HOOKS
            TestHog.StartIfRequested(log, environment(TestHog.EnvironmentVariable));
#endif
        }

        if (link is not null && settings.HeartbeatTimeout > TimeSpan.Zero)
        {
            watchdog.Heartbeat = new WorkerHeartbeat(link, progress ?? new WorkerProgress(), settings.HeartbeatTimeout, settings.HeartbeatPeriod, log, time);
            watchdog._owned.Add(watchdog.Heartbeat);
            watchdog.Heartbeat.Start();
        }

        if (publisher is not null)
        {
            watchdog.StallDetector = new PublisherStallDetector(publisher, settings.PublisherStall, settings.PublisherStallExit, log, watchdog.Metrics.Stalls, requestExit, time);
            watchdog._owned.Add(watchdog.StallDetector);
            watchdog.StallDetector.Start();
        }

        // A worker whose publisher is stuck is as useless as a hung one: stop pinging so that systemd restarts
        // it. Without a publisher (nothing to watch) the pings only say that the process lives.
        var stallDetector = watchdog.StallDetector;
        Func<string?> withholdReason = stallDetector is null
            ? static () => null
            : () => stallDetector.IsStalled ? "the publisher is stalled" : null;
        watchdog.Systemd = SystemdHeartbeat.FromEnvironment(watcherPid, withholdReason, log, time, environment);
        if (watchdog.Systemd is not null)
        {
            watchdog._owned.Add(watchdog.Systemd);
        }

        return watchdog;
    }

    /// <summary>Call once the pipeline runs: READY=1 to systemd, then WATCHDOG=1 pings while the publisher is not stalled.</summary>
    public void Ready() => Systemd?.Ready();

    /// <summary>Call when the shutdown begins: STOPPING=1 to systemd.</summary>
    public void Stopping() => Systemd?.Stopping();

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        _owned.Clear();
    }

    private static int? WatcherPidFrom(Func<string, string?> environment) =>
        int.TryParse(environment(WorkerEnvironmentVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
            ? pid
            : null;

    private static WatchdogState InheritedState(string? text, Logger log)
    {
        if (string.IsNullOrEmpty(text))
        {
            return new WatchdogState();
        }

        if (WatchdogState.TryDecode(text, out var state, out var error))
        {
            return state;
        }

        log.Warn($"ignoring the watcher's counters in {WatchdogState.EnvironmentVariable}: {error}");
        return new WatchdogState();
    }
}
