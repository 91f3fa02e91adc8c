namespace Shipper.Module.System.Process.Procfs;

/// <summary>Settings of <see cref="ProcfsPollingSource"/>; the dataset reads them from <c>process.procfs.*</c>.</summary>
public sealed record ProcfsSourceOptions
{
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromSeconds(1);

    /// <summary><c>process.procfs.period</c>: how often /proc is listed and compared with the previous listing.</summary>
    public TimeSpan Period { get; init; } = DefaultPeriod;

    /// <summary>Bound of the queue to the tracker; when full, events are dropped and counted.</summary>
    public int ChannelCapacity { get; init; } = 65536;

    public string ProcRoot { get; init; } = "/proc";

    /// <summary><c>process.max_args_bytes</c>: where command lines are cut.</summary>
    public int MaxArgsBytes { get; init; } = ProcReader.DefaultMaxArgsBytes;
}
