using Shipper.Module.Registry;

namespace Shipper.Module.System.Process.Tracking;

/// <summary>
/// One folded lifecycle report from the tracker to the document stage: which events, and a copy of what was
/// known about the process (and its parent) when the hold ended.
/// </summary>
public sealed class ProcessReport
{
    public required ProcessEvents Events { get; init; }

    public EventKind Kind { get; init; } = EventKind.Event;

    /// <summary>Shared <c>event.id</c> of one state report; null otherwise.</summary>
    public string? StateId { get; init; }

    /// <summary>When the (latest) reported event happened.</summary>
    public required DateTime Timestamp { get; init; }

    public required ProcessFacts Facts { get; init; }

    public ParentSummary? Parent { get; init; }

    public DateTime? EndTime { get; init; }

    public ExitStatus Exit { get; init; }

    public IReadOnlyList<string>? Errors { get; init; }

    /// <summary>
    /// Kernel events folded into this report (0 for what a /proc scan found): what is lost, and counted, if the
    /// report never becomes a published document.
    /// </summary>
    public int Observations { get; init; }
}
