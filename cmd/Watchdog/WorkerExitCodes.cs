namespace Shipper.Watchdog;

/// <summary>Exit codes of a worker that the watcher interprets.</summary>
public static class WorkerExitCodes
{
    /// <summary>The publisher stalled and <c>watchdog.publisher_stall_exit</c> asked for a fresh worker (EX_TEMPFAIL).</summary>
    public const int PublisherStalled = 75;

    /// <summary>The worker noticed its watcher is gone and stopped.</summary>
    public const int WatcherGone = 0;
}
