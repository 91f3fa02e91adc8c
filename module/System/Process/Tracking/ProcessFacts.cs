using Shipper.Module.Containers;

namespace Shipper.Module.System.Process.Tracking;

/// <summary>
/// What is known about one process: the latest values read from /proc, merged sample after sample. Strings and
/// arrays are never mutated once stored, so <see cref="Clone"/> is a cheap shallow copy for a document.
/// </summary>
public sealed class ProcessFacts
{
    public int Pid { get; set; }

    public int ParentPid { get; set; }

    /// <summary>Whether <c>stat</c> was read: name, parent, groups, tty and start time are then known.</summary>
    public bool StatKnown { get; set; }

    public string? Name { get; set; }

    public int ProcessGroupId { get; set; }

    public int SessionId { get; set; }

    public int TtyNr { get; set; }

    public ulong StartTimeTicks { get; set; }

    /// <summary>The start in nanoseconds since boot when the kernel gave it (<see cref="ProcessSample.StartBootNanoseconds"/>); 0 otherwise.</summary>
    public ulong StartBootNanoseconds { get; set; }

    /// <summary>
    /// The start time comes from the fork event, not from <c>stat</c> (the process was reaped before it could be
    /// read); group, session and tty stay unknown.
    /// </summary>
    public bool StartFromForkEvent { get; set; }

    /// <summary>Whether <see cref="StartTimeTicks"/> holds the process's start (from <c>stat</c> or its fork event).</summary>
    public bool StartKnown => StatKnown || StartFromForkEvent;

    /// <summary>Real, effective, saved (and filesystem) ids from <c>status</c>; null when unread.</summary>
    public uint[]? Uids { get; set; }

    public uint[]? Gids { get; set; }

    /// <summary>Whether <c>status</c> was read, so the capability sets are known.</summary>
    public bool CapabilitiesKnown { get; set; }

    public ulong CapEffective { get; set; }

    public ulong CapPermitted { get; set; }

    /// <summary>The command line; null when unknown (unread, or empty because the process was already a zombie).</summary>
    public string[]? Args { get; set; }

    /// <summary><see cref="Args"/> is the beginning of a longer command line (<see cref="ProcessSample.ArgsTruncated"/>).</summary>
    public bool ArgsTruncated { get; set; }

    /// <summary>With <see cref="ArgsTruncated"/>: the true number of arguments when known.</summary>
    public int? ArgsTrueCount { get; set; }

    public string? Executable { get; set; }

    /// <summary>The executed file's identity, read with <see cref="Executable"/> (see <see cref="ProcessSample.ExecutableIdentity"/>).</summary>
    public Hashing.FileIdentity? ExecutableIdentity { get; set; }

    public string? WorkingDirectory { get; set; }

    public ulong MountNamespace { get; set; }

    public bool IsKernelThreadFlagged { get; set; }

    /// <summary>Whether the cgroup was read (or inherited at fork): <see cref="Container"/> is then known.</summary>
    public bool CgroupKnown { get; set; }

    /// <summary>The container the process runs in; null when in none or unknown.</summary>
    public ContainerIdentity? Container { get; set; }

    public ProcessFacts Clone() => (ProcessFacts)MemberwiseClone();

    public static ProcessFacts ForPid(int pid) => new() { Pid = pid };

    public static ProcessFacts FromSample(ProcessSample sample)
    {
        var facts = ForPid(sample.Pid);
        facts.Merge(sample, exec: true);
        return facts;
    }

    /// <summary>Facts for the process a kernel event names: from its sample when it could be read, else only the pid.</summary>
    public static ProcessFacts ForEvent(int pid, ProcessSample? sample)
    {
        var facts = sample is not null ? FromSample(sample) : ForPid(pid);
        facts.Pid = pid; // the event's pid: a sample of a process gone mid-read may lack it
        return facts;
    }

    /// <summary>Whether the sample describes the same process instance (pid reuse never merges two processes).</summary>
    public bool IsSameInstance(ProcessSample? sample) =>
        sample is null || !StatKnown || !sample.HasStat || sample.StartTimeTicks == StartTimeTicks;

    /// <summary>
    /// Takes what the sample knows. For an exec the image-related fields (name, arguments, executable) are
    /// replaced even when the sample lacks them: showing the previous image's command line for the new image
    /// would be wrong, unknown is right.
    /// </summary>
    public void Merge(ProcessSample sample, bool exec)
    {
        if (sample.HasStat)
        {
            // The start time never changes for one process; keep the first one read. Also its precision: a process
            // first known from /proc keeps its 10 ms start (and so its entity_id) when the kernel later gives ns.
            if (!StatKnown)
            {
                StartTimeTicks = sample.StartTimeTicks;
                StartBootNanoseconds = sample.StartBootNanoseconds;
                StartFromForkEvent = false;
            }

            // A task being reaped still has a stat, but ids that no longer resolve read as 0 (seen in the
            // process storm at normal priority): never let those zeros erase the parent, group or session known
            // from the fork event or an earlier read.
            var known = StatKnown || ParentPid != 0;
            StatKnown = true;
            if (sample.ParentPid != 0 || !known)
            {
                ParentPid = sample.ParentPid;
            }

            if (sample.ProcessGroupId != 0 || !known)
            {
                ProcessGroupId = sample.ProcessGroupId;
            }

            if (sample.SessionId != 0 || !known)
            {
                SessionId = sample.SessionId;
            }

            TtyNr = sample.TtyNr;
            IsKernelThreadFlagged = sample.IsKernelThread;
        }

        if (sample.Name is not null || exec)
        {
            Name = sample.Name;
        }

        if (sample.Uids is { Length: >= 3 })
        {
            Uids = sample.Uids;
        }

        if (sample.Gids is { Length: >= 3 })
        {
            Gids = sample.Gids;
        }

        if (sample.Uids is not null)
        {
            CapabilitiesKnown = true;
            CapEffective = sample.CapEffective;
            CapPermitted = sample.CapPermitted;
        }

        var args = sample.Args is { Length: > 0 } a ? a : null;
        if (args is not null || exec)
        {
            Args = args;
            ArgsTruncated = args is not null && sample.ArgsTruncated;
            ArgsTrueCount = ArgsTruncated ? sample.ArgsTrueCount : null;
        }

        if (sample.Executable is not null || exec)
        {
            Executable = sample.Executable;
            ExecutableIdentity = sample.ExecutableIdentity;
        }

        if (sample.WorkingDirectory is not null)
        {
            WorkingDirectory = sample.WorkingDirectory;
        }

        if (sample.MountNamespace != 0)
        {
            MountNamespace = sample.MountNamespace;
        }

        // A process can be moved to another cgroup at any time: the latest read wins, even "in no container".
        if (sample.CgroupRead)
        {
            CgroupKnown = true;
            Container = sample.Container;
        }
    }

    /// <summary>An exec whose /proc could not be read at all: the new image is unknown, the old one is gone.</summary>
    public void ForgetImage()
    {
        Name = null;
        Args = null;
        ArgsTruncated = false;
        ArgsTrueCount = null;
        Executable = null;
        ExecutableIdentity = null;
    }

    /// <summary>A fork copies the parent: until the child execs (or /proc says otherwise) it runs the parent's image.</summary>
    public void InheritFrom(ProcessFacts parent)
    {
        Name ??= parent.Name;
        if (Args is null)
        {
            Args = parent.Args;
            ArgsTruncated = parent.ArgsTruncated;
            ArgsTrueCount = parent.ArgsTrueCount;
        }

        if (Executable is null)
        {
            Executable = parent.Executable;
            ExecutableIdentity = parent.ExecutableIdentity;
        }

        WorkingDirectory ??= parent.WorkingDirectory;
        Uids ??= parent.Uids;
        Gids ??= parent.Gids;
        if (!CapabilitiesKnown && parent.CapabilitiesKnown)
        {
            CapabilitiesKnown = true;
            CapEffective = parent.CapEffective;
            CapPermitted = parent.CapPermitted;
        }

        if (!StatKnown)
        {
            ProcessGroupId = parent.ProcessGroupId;
            SessionId = parent.SessionId;
            TtyNr = parent.TtyNr;
        }

        if (MountNamespace == 0)
        {
            MountNamespace = parent.MountNamespace;
        }

        // A child starts in its parent's cgroup.
        if (!CgroupKnown && parent.CgroupKnown)
        {
            CgroupKnown = true;
            Container = parent.Container;
        }
    }
}
