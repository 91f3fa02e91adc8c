using Shipper.Module.Containers;

namespace Shipper.Module.System.Process;

/// <summary>
/// What /proc/&lt;pid&gt; said about one process at one moment (read as early as possible after the kernel
/// event). Anything that could not be read stays null/zero and is named in <see cref="Errors"/>.
/// </summary>
public sealed class ProcessSample
{
    public int Pid { get; set; }

    /// <summary>From <c>stat</c> field 4.</summary>
    public int ParentPid { get; set; }

    /// <summary><c>comm</c> from <c>stat</c> (may hold spaces, parentheses, newlines).</summary>
    public string? Name { get; set; }

    /// <summary><c>stat</c> field 3.</summary>
    public char State { get; set; }

    public int ProcessGroupId { get; set; }

    public int SessionId { get; set; }

    /// <summary><c>tty_nr</c>: 0 when the process has no controlling terminal.</summary>
    public int TtyNr { get; set; }

    /// <summary><c>stat</c> field 9; <c>PF_KTHREAD</c> = 0x00200000.</summary>
    public uint Flags { get; set; }

    /// <summary><c>starttime</c>, clock ticks since boot.</summary>
    public ulong StartTimeTicks { get; set; }

    /// <summary>
    /// The task's <c>start_boottime</c> in nanoseconds, when the kernel handed it over (eBPF backend); 0 when only
    /// <see cref="StartTimeTicks"/> (10 ms) is known. Makes <c>process.start</c> exact.
    /// </summary>
    public ulong StartBootNanoseconds { get; set; }

    /// <summary>Real, effective, saved, filesystem — from <c>status</c> <c>Uid:</c>.</summary>
    public uint[]? Uids { get; set; }

    public uint[]? Gids { get; set; }

    public ulong CapEffective { get; set; }

    public ulong CapPermitted { get; set; }

    /// <summary>From <c>cmdline</c>, NUL-separated; invalid UTF-8 kept as U+FFFD. Empty array for a zombie.</summary>
    public string[]? Args { get; set; }

    /// <summary>True when the command line was longer than <c>process.max_args_bytes</c> and <see cref="Args"/> is its beginning.</summary>
    public bool ArgsTruncated { get; set; }

    /// <summary>With <see cref="ArgsTruncated"/>: how many arguments the process really has, when that could be read.</summary>
    public int? ArgsTrueCount { get; set; }

    public string? Executable { get; set; }

    /// <summary>
    /// statx of <c>/proc/&lt;pid&gt;/exe</c> right after its target was read: the file that ran, even when its path
    /// has since been replaced or unlinked. Null when the process was gone by then. Digests are only ever published
    /// for this version of the file.
    /// </summary>
    public Hashing.FileIdentity? ExecutableIdentity { get; set; }

    public string? WorkingDirectory { get; set; }

    /// <summary>Inode of <c>ns/mnt</c>; 0 when unknown.</summary>
    public ulong MountNamespace { get; set; }

    /// <summary>Whether <c>cgroup</c> was read: <see cref="Container"/> is then known (null: in no container).</summary>
    public bool CgroupRead { get; set; }

    /// <summary>The container <c>cgroup</c> names (shared instance); null when in none or unread.</summary>
    public ContainerIdentity? Container { get; set; }

    /// <summary>
    /// True when only <c>stat</c> was read (a fork, with <see cref="Netlink.NetlinkSourceOptions.FullSampleOnFork"/>
    /// off): a child is a copy of its parent at fork, so args, executable, working directory, ids, capabilities
    /// and mount namespace are the parent's — take them from the parent's entry. Those fields are null/zero here
    /// and that is not an error.
    /// </summary>
    public bool StatOnly { get; set; }

    /// <summary>Human-readable problems, e.g. "cannot read /proc/42/exe: process exited".</summary>
    public List<string>? Errors { get; set; }

    public const uint KernelThreadFlag = 0x00200000;

    public bool IsKernelThread => (Flags & KernelThreadFlag) != 0;

    /// <summary>Whether <c>stat</c> was read (its state letter is never NUL).</summary>
    public bool HasStat => State != '\0';

    public void AddError(string error) => (Errors ??= new List<string>(1)).Add(error);

    /// <summary>What a <c>stat</c>-only read of this process would have given (<see cref="StatOnly"/>), without the errors.</summary>
    public ProcessSample StatView() => new()
    {
        Pid = Pid,
        ParentPid = ParentPid,
        Name = Name,
        State = State,
        ProcessGroupId = ProcessGroupId,
        SessionId = SessionId,
        TtyNr = TtyNr,
        Flags = Flags,
        StartTimeTicks = StartTimeTicks,
        StartBootNanoseconds = StartBootNanoseconds,
        StatOnly = true,
    };
}
