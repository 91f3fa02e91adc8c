namespace Shipper.Module.System.Process.Tracking;

/// <summary>The kernel events (and snapshot sightings) folded into one document.</summary>
[Flags]
public enum ProcessEvents : byte
{
    None = 0,

    /// <summary>Seen in a /proc snapshot (start-up or state report).</summary>
    Snapshot = 1,

    Fork = 2,

    Exec = 4,

    Exit = 8,
}
