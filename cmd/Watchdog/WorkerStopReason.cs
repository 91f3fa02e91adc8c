namespace Shipper.Watchdog;

/// <summary>Why the watcher stops a worker: which limit, and a sentence with the measured figure and the limit.</summary>
public sealed record WorkerStopReason(WorkerStopKind Kind, string Description)
{
    public override string ToString() => Description;
}
