namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// The fields of <c>/proc/&lt;pid&gt;/stat</c> the shipper uses. <see cref="CommStart"/>/<see cref="CommLength"/>
/// locate <c>comm</c> inside the parsed bytes, so a caller that only needs numbers (the poller, for every
/// process every period) never allocates the name.
/// </summary>
public readonly record struct ProcStat(
    int Pid,
    int CommStart,
    int CommLength,
    char State,
    int ParentPid,
    int ProcessGroupId,
    int SessionId,
    int TtyNr,
    uint Flags,
    ulong UserTicks,
    ulong SystemTicks,
    long NumThreads,
    ulong StartTimeTicks)
{
    public bool IsKernelThread => (Flags & ProcessSample.KernelThreadFlag) != 0;
}
