namespace Shipper.Module.System.Process.Tracking;

/// <summary>What a document says about the parent, taken from the parent's table entry when it is known.</summary>
public sealed record ParentSummary(
    int Pid,
    string? Name,
    string? Executable,
    string[]? Args,
    bool StartKnown,
    ulong StartTimeTicks,
    ulong StartBootNanoseconds = 0);
