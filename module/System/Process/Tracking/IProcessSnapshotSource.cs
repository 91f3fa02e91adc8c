namespace Shipper.Module.System.Process.Tracking;

/// <summary>Lists every process in /proc with a full sample, for the start-up snapshot, state reports and resyncs.</summary>
public interface IProcessSnapshotSource
{
    /// <summary>One sample per process that still existed when it was read; processes that vanished are left out.</summary>
    IReadOnlyList<ProcessSample> Scan(CancellationToken cancellationToken);
}
