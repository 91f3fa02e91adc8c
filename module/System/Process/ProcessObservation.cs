namespace Shipper.Module.System.Process;

/// <summary>
/// What an event source hands the tracker: a kernel (or poll-synthesised) event with the /proc sample read
/// for it, or — when <see cref="Lost"/> is above zero — word that events were lost and the table must be
/// resynchronised from /proc.
/// </summary>
public readonly record struct ProcessObservation(ProcConnectorEvent Event, ProcessSample? Sample, long Lost)
{
    public bool IsLoss => Lost > 0;

    public static ProcessObservation Loss(long lost) => new(default, null, lost);
}
