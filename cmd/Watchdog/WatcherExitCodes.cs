namespace Shipper.Watchdog;

/// <summary>Exit codes of the watcher process (what <c>shipper run</c> returns with the watchdog on).</summary>
public static class WatcherExitCodes
{
    /// <summary>Stopped by SIGTERM or SIGINT; the worker drained and exited.</summary>
    public const int Stopped = 0;

    /// <summary>The worker kept dying shortly after its start, <c>watchdog.respawn_limit</c> times in a row.</summary>
    public const int RespawnLimitReached = 3;

    /// <summary>The watcher's own memory grew past <c>watchdog.memory_limit</c>; it stopped the worker and exits.</summary>
    public const int WatcherUnhealthy = 4;

    /// <summary>A worker survived SIGKILL (osquery's EXIT_CATASTROPHIC): something is badly wrong with the host.</summary>
    public const int Catastrophic = 78;
}
