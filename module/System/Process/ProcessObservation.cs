namespace Shipper.Module.System.Process;

/// <summary>
/// What an event source hands the tracker: a kernel (or poll-synthesised) event with the /proc sample read
/// for it, or — when <see cref="Lost"/> is above zero — word that events were lost and the table must be
/// resynchronised from /proc.
/// </summary>
public readonly record struct ProcessObservation(ProcConnectorEvent Event, ProcessSample? Sample, long Lost)
{
    public bool IsLoss => Lost > 0;

    /// <summary>
    /// True when the event was inferred by /proc polling (backend <c>procfs</c>), not reported by the kernel:
    /// <see cref="ProcConnectorEvent.TimestampNs"/> is the poll's time (CLOCK_MONOTONIC), and for an exit
    /// <see cref="ProcConnectorEvent.ExitCode"/> is unknown (0) — omit <c>process.exit_code</c>.
    /// </summary>
    public bool Synthetic { get; init; }

    public static ProcessObservation Loss(long lost) => new(default, null, lost);
}
