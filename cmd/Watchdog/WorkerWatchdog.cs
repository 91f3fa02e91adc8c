using System.Globalization;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Watchdog;

/// <summary>
/// Everything of the watchdog that lives inside the process running the pipeline (the worker, or the one
/// process when <c>watchdog.level: -1</c>): the <c>watchdog.*</c> metrics with the watcher's counters, the
/// SIGUSR1 diagnostic snapshot, the publisher stall detector, systemd notifications and, in a watched
/// worker, the guard that follows the watcher's death and the test-only hog knob.
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
    public static int? WatcherPid =>
        int.TryParse(Environment.GetEnvironmentVariable(WorkerEnvironmentVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
            ? pid
            : null;

    /// <summary>True in a worker the watcher started; <c>shipper run</c> must then run the pipeline, not another watcher.</summary>
    public static bool IsWorkerProcess => WatcherPid is not null;

    public WatchdogMetrics Metrics { get; }

    public WorkerDiagnostics Diagnostics { get; }

    public WorkerGuard? Guard { get; private set; }

    public PublisherStallDetector? StallDetector { get; private set; }

    public SystemdHeartbeat? Systemd { get; private set; }

    /// <summary>
    /// Call early in the worker (or single process), once the metrics registry and publisher exist and
    /// before the modules start.
    /// </summary>
    /// <param name="requestExit">Stop the pipeline as on SIGTERM (drain) and exit the process with this code.</param>
    /// <param name="publisher">The publisher's progress, for the stall detector and the diagnostics; null to skip both.</param>
    /// <param name="trackedProcesses">One line per tracked process, for the SIGUSR1 snapshot.</param>
    /// <param name="isHealthy">Whether to keep pinging systemd's watchdog; true when null.</param>
    public static WorkerWatchdog Start(
        WatchdogSettings settings,
        Logger log,
        MetricsRegistry metrics,
        Action<int> requestExit,
        IPublisherProgress? publisher = null,
        Func<IEnumerable<string>>? trackedProcesses = null,
        Func<bool>? isHealthy = null,
        TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var watcherPid = WatcherPid;
        var inherited = InheritedState(log);
        var diagnostics = new WorkerDiagnostics(metrics, publisher, trackedProcesses);
        var watchdog = new WorkerWatchdog(WatchdogMetrics.Register(metrics, inherited), diagnostics);

        // First, so that a SIGUSR1 from the watcher never finds the default action (which terminates).
        watchdog._owned.Add(diagnostics.ListenForSignal(log));

        if (watcherPid is { } pid)
        {
            watchdog.Guard = new WorkerGuard(pid, settings.Interval, settings.ForcedShutdownDelay, log, requestExit, time);
            watchdog._owned.Add(watchdog.Guard);
            watchdog.Guard.Start();
            TestHog.StartIfRequested(log);
        }

        if (publisher is not null)
        {
            watchdog.StallDetector = new PublisherStallDetector(publisher, settings.PublisherStall, settings.PublisherStallExit, log, watchdog.Metrics.Stalls, requestExit, time);
            watchdog._owned.Add(watchdog.StallDetector);
            watchdog.StallDetector.Start();
        }

        watchdog.Systemd = SystemdHeartbeat.FromEnvironment(watcherPid, isHealthy ?? (static () => true), log, time);
        if (watchdog.Systemd is not null)
        {
            watchdog._owned.Add(watchdog.Systemd);
        }

        return watchdog;
    }

    /// <summary>Call once the pipeline runs: READY=1 to systemd, then WATCHDOG=1 pings while healthy.</summary>
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

    private static WatchdogState InheritedState(Logger log)
    {
        var text = Environment.GetEnvironmentVariable(WatchdogState.EnvironmentVariable);
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
