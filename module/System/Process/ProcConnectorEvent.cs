namespace Shipper.Module.System.Process;

/// <summary>
/// One decoded <c>struct proc_event</c>, already filtered to process (thread-group leader) events.
/// Fields that a given <see cref="Type"/> does not carry are zero.
/// </summary>
public readonly record struct ProcConnectorEvent(
    ProcEventType Type,
    uint Cpu,
    ulong TimestampNs,
    int Pid,
    int Tgid,
    int ParentPid,
    int ParentTgid,
    uint ExitCode,
    uint ExitSignal)
{
    /// <summary>For fork: the child's pid. For exec/exit/uid/gid/comm: the process.</summary>
    public int ProcessPid => Tgid;
}
