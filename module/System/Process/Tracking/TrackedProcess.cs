namespace Shipper.Module.System.Process.Tracking;

/// <summary>One entry of the process table: a process instance (pid + start time), its held events and its end.</summary>
public sealed class TrackedProcess
{
    public TrackedProcess(ProcessFacts facts)
    {
        Facts = facts;
        HoldNode = new LinkedListNode<TrackedProcess>(this);
    }

    public ProcessFacts Facts { get; }

    public int Pid => Facts.Pid;

    /// <summary>Kernel threads are tracked (to recognise their events) but never reported.</summary>
    public bool IsKernelThread { get; set; }

    /// <summary>Events held for folding, not yet reported.</summary>
    public ProcessEvents Pending { get; set; }

    /// <summary>Kernel events folded into <see cref="Pending"/> (the report's <see cref="ProcessReport.Observations"/>).</summary>
    public int PendingObservations { get; set; }

    /// <summary>Monotonic timestamp (<see cref="TimeProvider.GetTimestamp"/>) of the first held event.</summary>
    public long PendingSince { get; set; }

    /// <summary>Wall time of the latest held event: the document's @timestamp.</summary>
    public DateTime PendingEventTime { get; set; }

    /// <summary>Read problems of the held events, for <c>error.message</c>.</summary>
    public List<string>? PendingErrors { get; set; }

    /// <summary>Links the entry into the hold queue while it has pending events.</summary>
    public LinkedListNode<TrackedProcess> HoldNode { get; }

    /// <summary>
    /// The parent as found when the first held event arrived: it may leave the table (grace over) before the hold
    /// ends. Cleared when the held events are reported, so entries never keep chains of dead parents alive.
    /// </summary>
    public TrackedProcess? HeldParent { get; set; }

    public bool Exited { get; set; }

    public DateTime? EndTime { get; set; }

    public ExitStatus Exit { get; set; }

    /// <summary>Monotonic timestamp after which an exited entry leaves the table.</summary>
    public long GraceDeadline { get; set; }

    /// <summary>Marks entries seen by the current resync scan.</summary>
    public int SeenInScan { get; set; }

    /// <summary>Adds one kernel event to what the next report of this entry folds.</summary>
    public void Pend(ProcessEvents events, DateTime wall, List<string>? errors)
    {
        Pending |= events;
        PendingObservations++;
        PendingEventTime = wall;
        AddErrors(errors);
    }

    public void AddErrors(List<string>? errors)
    {
        if (errors is null || errors.Count == 0)
        {
            return;
        }

        PendingErrors ??= new List<string>(errors.Count);
        PendingErrors.AddRange(errors);
    }

    public void AddError(string error) => (PendingErrors ??= new List<string>(1)).Add(error);
}
