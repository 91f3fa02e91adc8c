using Shipper.Module.Monitoring;
using Shipper.Module.System.Process;

namespace Shipper.Tests.Module.System.Process;

/// <summary>Builders for samples and kernel observations, as the netlink source produces them.</summary>
public static class ProcessFixtures
{
    public const uint Root = 0;

    public static ProcessSample Sample(
        int pid,
        int parentPid,
        ulong start,
        string name,
        string[]? args = null,
        string? exe = null,
        string? cwd = "/",
        uint uid = Root,
        uint gid = Root,
        int ttyNr = 0,
        uint flags = 0,
        char state = 'S') => new()
        {
            Pid = pid,
            ParentPid = parentPid,
            Name = name,
            State = state,
            ProcessGroupId = pid,
            SessionId = pid,
            TtyNr = ttyNr,
            Flags = flags,
            StartTimeTicks = start,
            Uids = new[] { uid, uid, uid, uid },
            Gids = new[] { gid, gid, gid, gid },
            CapEffective = uid == 0 ? 0x1ffffffffffUL : 0,
            CapPermitted = uid == 0 ? 0x1ffffffffffUL : 0,
            Args = args ?? new[] { name },
            Executable = exe ?? "/usr/bin/" + name,
            WorkingDirectory = cwd,
            MountNamespace = 4026531841,
        };

    /// <summary>What the reader produces for a pid that was gone before /proc could be read.</summary>
    public static ProcessSample Vanished(int pid)
    {
        var sample = new ProcessSample { Pid = pid };
        sample.AddError($"cannot read /proc/{pid}: process exited");
        return sample;
    }

    public static ProcessObservation Fork(int child, int parent, ProcessSample? sample, ulong timestampNs = 0) =>
        new(new ProcConnectorEvent(ProcEventType.Fork, 0, timestampNs, child, child, parent, parent, 0, 0), sample, 0);

    public static ProcessObservation Exec(int pid, ProcessSample? sample, ulong timestampNs = 0) =>
        new(new ProcConnectorEvent(ProcEventType.Exec, 0, timestampNs, pid, pid, 0, 0, 0, 0), sample, 0);

    /// <summary>An exit with the kernel's wait status: <c>code &lt;&lt; 8</c> for exit(code), the signal number for a kill.</summary>
    public static ProcessObservation Exit(int pid, uint waitStatus = 0, int parent = 0, ulong timestampNs = 0) =>
        new(new ProcConnectorEvent(ProcEventType.Exit, 0, timestampNs, pid, pid, parent, parent, waitStatus, 17), null, 0);

    public static ProcessObservation Change(ProcEventType type, int pid, ProcessSample sample) =>
        new(new ProcConnectorEvent(type, 0, 0, pid, pid, 0, 0, 0, 0), sample, 0);

    public static ProcessMetrics Metrics(out MetricsRegistry registry)
    {
        registry = new MetricsRegistry();
        return new ProcessMetrics(registry);
    }

    public static long Value(MetricsRegistry registry, string name)
    {
        foreach (var metric in registry.Snapshot())
        {
            if (metric.Name == name)
            {
                return metric.Number;
            }
        }

        throw new InvalidOperationException($"no metric {name}");
    }
}
