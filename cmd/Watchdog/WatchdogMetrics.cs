using Shipper.Module.Monitoring;

namespace Shipper.Watchdog;

/// <summary>
/// The <c>watchdog.*</c> metrics of a worker (or of a single-process shipper): the counts the watcher passed
/// down for the workers before this one, plus the stalls this worker sees itself.
/// </summary>
public sealed class WatchdogMetrics
{
    private WatchdogMetrics(MetricsRegistry registry)
    {
        WorkerRestarts = registry.Counter("watchdog.worker_restarts");
        KillsMemory = registry.Counter("watchdog.kills_memory");
        KillsCpu = registry.Counter("watchdog.kills_cpu");
        KillsHung = registry.Counter("watchdog.kills_hung");
        Stalls = registry.Counter("watchdog.stalls");
        LastKillReason = registry.Text("watchdog.last_kill_reason");
    }

    public Counter WorkerRestarts { get; }

    public Counter KillsMemory { get; }

    public Counter KillsCpu { get; }

    /// <summary>Workers the watcher killed because their heartbeat stopped (watchdog.heartbeat_timeout).</summary>
    public Counter KillsHung { get; }

    public Counter Stalls { get; }

    public TextMetric LastKillReason { get; }

    public static WatchdogMetrics Register(MetricsRegistry registry, WatchdogState inherited)
    {
        var metrics = new WatchdogMetrics(registry);
        metrics.WorkerRestarts.Add(inherited.WorkerRestarts);
        metrics.KillsMemory.Add(inherited.KillsMemory);
        metrics.KillsCpu.Add(inherited.KillsCpu);
        metrics.KillsHung.Add(inherited.KillsHung);
        metrics.Stalls.Add(inherited.Stalls);
        if (inherited.LastKillReason.Length > 0)
        {
            metrics.LastKillReason.Set(inherited.LastKillReason);
        }

        return metrics;
    }
}
