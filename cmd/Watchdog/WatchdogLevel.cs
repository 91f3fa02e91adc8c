namespace Shipper.Watchdog;

/// <summary>osquery's watchdog levels; each one sets the default limits (FACTS §9).</summary>
public enum WatchdogLevel
{
    /// <summary>No watcher: the worker runs alone in the shipper's own process.</summary>
    Off = -1,
    Normal = 0,
    Restrictive = 1,
}
