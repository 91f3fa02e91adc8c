namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// Where a pid's latest fork and exit sit in the queue of drained events (numbers from the order they were drained
/// in; 0 = none). A drained fork looks up what follows it for the same pid: a later fork means the pid went to
/// another process since; a later exit, that this process has ended.
/// </summary>
internal struct PendingOrder
{
    public long LastFork;
    public long LastExit;
}
