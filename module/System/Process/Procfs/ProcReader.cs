using global::System.Buffers;
using global::System.Buffers.Text;
using global::System.Runtime.InteropServices;
using global::System.Text;

namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// Reads <c>/proc/&lt;pid&gt;</c> into a <see cref="ProcessSample"/> as fast as possible after a kernel event.
/// Never throws for a process that vanished or cannot be read: each unreadable part becomes an entry in
/// <see cref="ProcessSample.Errors"/> and a bit in <see cref="ProcReadFailures"/>.
/// Not thread-safe: one instance per reading thread (it owns its buffers so the hot path does not allocate
/// beyond the sample itself).
/// </summary>
public sealed unsafe class ProcReader : IDisposable
{
    /// <summary><c>process.max_args_bytes</c>: 128 KiB, more than any ordinary command line, a tenth of a 1 MiB one.</summary>
    public const int DefaultMaxArgsBytes = 128 * 1024;

    /// <summary>Most stat files held open between a fork and its exec (see <see cref="ReadStatOnly"/>).</summary>
    public const int MaxHeldStatFiles = 256;

    private const int SmallBuffer = 16 * 1024;
    private const int LinkBuffer = 4096 + 1;

    private readonly byte[] _pathPrefix;
    private readonly byte[] _path;
    private readonly int _maxArgsBytes;
    private byte[] _buffer;
    private readonly bool _useProcessCalls;
    private readonly Dictionary<int, int> _heldStat = new();
    private readonly Queue<(int Pid, int Fd)> _heldOrder = new();
    private readonly CgroupContainerCache _containers = new();
    private bool _disposed;

    // Faster paths this kernel or policy may refuse; each is switched off for good at its first refusal.
    private bool _copyArguments = true;
    private bool _pidfdInfo = true;
    private bool _pidfdMountNamespace = true;

    /// <param name="procRoot">Normally <c>/proc</c>; tests point it at a fake tree.</param>
    /// <param name="maxArgsBytes">
    /// Longer command lines are cut here (<see cref="ProcessSample.ArgsTruncated"/>); no more than one byte beyond it
    /// is ever read.
    /// </param>
    /// <param name="processCalls">
    /// Whether to use process_vm_readv, pidfd and capget instead of the <c>cmdline</c>, <c>status</c> and
    /// <c>ns/mnt</c> files. Only ever on for the real <c>/proc</c> (those calls look at real processes, not a
    /// fake tree); tests turn it off to compare both ways.
    /// </param>
    public ProcReader(string procRoot = "/proc", int maxArgsBytes = DefaultMaxArgsBytes, bool processCalls = true)
    {
        ProcRoot = procRoot.TrimEnd('/');
        _pathPrefix = Encoding.UTF8.GetBytes(ProcRoot + "/");
        _path = new byte[_pathPrefix.Length + 32];
        _pathPrefix.CopyTo(_path, 0);
        _maxArgsBytes = maxArgsBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(SmallBuffer);
        _useProcessCalls = processCalls && ProcRoot == "/proc";
    }

    public string ProcRoot { get; }

    /// <summary>Whether command lines are still copied from process memory (false: read from <c>cmdline</c>).</summary>
    public bool CopiesArguments => _useProcessCalls && _copyArguments;

    /// <summary>Whether ids and capabilities still come from a pidfd and capget (false: from <c>status</c>).</summary>
    public bool ReadsIdentityFromPidfd => _useProcessCalls && _pidfdInfo;

    /// <summary>Whether the mount namespace still comes from a pidfd (false: from <c>ns/mnt</c>).</summary>
    public bool ReadsNamespaceFromPidfd => ReadsIdentityFromPidfd && _pidfdMountNamespace;

    public ProcessSample Read(int pid) => Read(pid, out _);

    /// <summary>
    /// Reads, in this order: <c>stat</c> (it says where the argument strings are), the command line, <c>exe</c>,
    /// <c>cwd</c> (the command line, executable and working directory vanish when the process exits; stat and
    /// the ids stay until it is reaped), <c>cgroup</c> (the container, <see cref="ReadCgroup"/>), then ids,
    /// capabilities and mount namespace.
    /// On the real /proc the command line is copied straight from the process's memory and the ids,
    /// capabilities and namespace come from a pidfd and capget: the same values as <c>cmdline</c>,
    /// <c>status</c> and <c>ns/mnt</c>, at about half the kernel time (no file to create and format per
    /// process). Each falls back to the file when the kernel or a security policy refuses it.
    /// Each part is opened by its full path rather than under one directory handle (one open and one close
    /// fewer); a reused pid cannot mix two processes into one sample, because the kernel hands pids out in
    /// turn up to pid_max and cannot come round to this one within the microseconds of a read.
    /// </summary>
    public ProcessSample Read(int pid, out ProcReadFailures failures)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        failures = ProcReadFailures.None;
        var sample = new ProcessSample { Pid = pid };
        try
        {
            var gone = 0; // errno once the process is known to be gone: later parts are not even tried
            if (!ReadStat(sample, ref failures, ref gone, out var argArea))
            {
                return sample;
            }

            ReadCmdline(sample, argArea, ref failures, ref gone);
            ReadExe(sample, ref failures, ref gone);
            ReadCwd(sample, ref failures, ref gone);
            ReadCgroup(sample, ref gone);
            if (!_useProcessCalls || !ReadIdentityFromPidfd(sample, ref failures, ref gone))
            {
                ReadStatus(sample, ref failures, ref gone);
                ReadMountNamespace(sample, ref failures, ref gone);
            }

            if (gone != 0 || sample.Args is { Length: 0 })
            {
                failures |= ProcReadFailures.Exited;
            }
        }
        finally
        {
            ShrinkBuffer();
        }

        return sample;
    }

    /// <summary>
    /// Completes a sample the kernel filled at an exec (eBPF backend) with what it could not give: the container from
    /// <c>cgroup</c> always, and the executable or working directory only when the kernel's path walk gave up
    /// (<paramref name="executable"/>, <paramref name="workingDirectory"/>). Reads nothing else.
    /// </summary>
    public void Complete(ProcessSample sample, bool executable, bool workingDirectory, out ProcReadFailures failures)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        failures = ProcReadFailures.None;
        try
        {
            var gone = 0;
            if (executable)
            {
                ReadExe(sample, ref failures, ref gone);
            }

            if (workingDirectory)
            {
                ReadCwd(sample, ref failures, ref gone);
            }

            ReadCgroup(sample, ref gone);
        }
        finally
        {
            ShrinkBuffer();
        }
    }

    /// <summary>
    /// A sample from <c>stat</c> alone (<see cref="ProcessSample.StatOnly"/>): start time, parent, name, session,
    /// tty, flags. What a fork needs, at a fifth of the cost of <see cref="Read(int, out ProcReadFailures)"/>.
    /// With <paramref name="holdOpen"/> the stat file stays open for the <see cref="Read(int, out ProcReadFailures)"/>
    /// that usually follows at the child's exec: reading an open /proc file from offset 0 shows the process as it
    /// is then, and saves an open and a close per process. <see cref="Release"/> closes it at the exit; at most
    /// <see cref="MaxHeldStatFiles"/> stay open (children that never exec, like a server's workers, give theirs
    /// up oldest first).
    /// </summary>
    public ProcessSample ReadStatOnly(int pid, out ProcReadFailures failures, bool holdOpen = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var sample = new ProcessSample { Pid = pid, StatOnly = true };
        failures = ProcReadFailures.None;
        int fd;
        fixed (byte* path = _path)
        {
            SetPidPath(pid, "stat"u8);
            fd = ProcfsSyscalls.Open(path, ProcfsSyscalls.O_RDONLY | ProcfsSyscalls.O_CLOEXEC);
        }

        var errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        var length = -1;
        if (fd >= 0)
        {
            length = ReadAll(fd, SmallBuffer);
            errno = length < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (holdOpen && length > 0)
            {
                Hold(pid, fd);
            }
            else
            {
                ProcfsSyscalls.Close(fd);
            }
        }

        if (length < 0)
        {
            failures = ProcReadFailures.Stat | (IsGone(errno) ? ProcReadFailures.Exited : 0);
            sample.AddError($"cannot read {ProcRoot}/{pid}/stat: {Describe(errno)}");
            return sample;
        }

        var content = _buffer.AsSpan(0, length);
        if (!ProcStatParser.TryParse(content, out var stat))
        {
            failures = ProcReadFailures.Stat;
            sample.AddError($"cannot parse {ProcRoot}/{pid}/stat: unexpected format");
            return sample;
        }

        ApplyStat(sample, content, stat);
        return sample;
    }

    /// <summary>
    /// Reads only <c>/proc/&lt;pid&gt;/stat</c> (one open, no allocation): what a poller needs to tell processes
    /// apart (pid + start time) and to skip kernel threads. The comm is not decoded.
    /// </summary>
    public bool TryReadStat(int pid, out ProcStat stat)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        stat = default;
        int fd;
        fixed (byte* path = _path)
        {
            SetPidPath(pid, "stat"u8);
            fd = ProcfsSyscalls.Open(path, ProcfsSyscalls.O_RDONLY | ProcfsSyscalls.O_CLOEXEC);
        }

        if (fd < 0)
        {
            return false;
        }

        try
        {
            var length = ReadAll(fd, SmallBuffer);
            return length > 0 && ProcStatParser.TryParse(_buffer.AsSpan(0, length), out stat);
        }
        finally
        {
            ProcfsSyscalls.Close(fd);
        }
    }

    /// <summary>
    /// How many tasks the kernel still counts in the thread group <paramref name="tgid"/> (its <c>nr_threads</c>):
    /// <c>/proc/&lt;tgid&gt;/task</c> has 2 + that many links. A task leaves the count when it is released, which
    /// for a thread is at its exit but for the main thread only when the whole group is reaped, so a dead group
    /// whose zombie is not reaped yet counts 1. One statx, no file opened. 0 when the group is gone (reaped, or
    /// never there), -1 when the kernel does not say.
    /// </summary>
    public int CountThreads(int tgid)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var statx = stackalloc byte[ProcfsSyscalls.StatxSize];
        int result;
        fixed (byte* path = _path)
        {
            SetPidPath(tgid, "task"u8);
            result = ProcfsSyscalls.Statx(ProcfsSyscalls.AT_FDCWD, path, 0, ProcfsSyscalls.STATX_NLINK, statx);
        }

        if (result != 0)
        {
            return IsGone(Marshal.GetLastPInvokeError()) ? 0 : -1;
        }

        var links = *(uint*)(statx + ProcfsSyscalls.StatxNlinkOffset);
        return (*(uint*)statx & ProcfsSyscalls.STATX_NLINK) != 0 && links >= 2 ? (int)(links - 2) : -1;
    }

    /// <summary>
    /// Whether the task <paramref name="pid"/> is a zombie (or gone): a zombie has given up its memory, so its
    /// <c>exe</c> link no longer reads, while a live task's does. One readlink. A link that cannot be read for
    /// another reason (no permission) also says true.
    /// </summary>
    public bool IsZombie(int pid)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var target = stackalloc byte[256];
        nint length;
        fixed (byte* path = _path)
        {
            SetPidPath(pid, "exe"u8);
            length = ProcfsSyscalls.ReadLink(path, target, 256);
        }

        return length < 0;
    }

    /// <summary>Closes the stat file held open for <paramref name="pid"/>, if any (the process exited).</summary>
    public void Release(int pid)
    {
        if (_heldStat.Remove(pid, out var fd))
        {
            ProcfsSyscalls.Close(fd);
        }
    }

    /// <summary>Stat files held open (tests).</summary>
    internal int HeldStatFiles => _heldStat.Count;

    /// <summary>Entries in the eviction order, including released ones not yet skipped (tests).</summary>
    internal int HeldStatOrderLength => _heldOrder.Count;

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            foreach (var fd in _heldStat.Values)
            {
                ProcfsSyscalls.Close(fd);
            }

            _heldStat.Clear();
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private void Hold(int pid, int fd)
    {
        Release(pid); // a pid reused while its old entry was held
        _heldStat[pid] = fd;
        _heldOrder.Enqueue((pid, fd));
        if (_heldStat.Count > MaxHeldStatFiles)
        {
            // Give up the oldest still held; entries of pids released since (exec, exit) are skipped.
            while (_heldOrder.TryDequeue(out var oldest))
            {
                if (IsHeld(oldest))
                {
                    _heldStat.Remove(oldest.Pid);
                    ProcfsSyscalls.Close(oldest.Fd);
                    break;
                }
            }
        }
        else if (_heldOrder.Count > 4 * MaxHeldStatFiles)
        {
            // Released entries pile up behind one held for long (a worker that never execs): keep the held ones.
            var count = _heldOrder.Count;
            for (var i = 0; i < count; i++)
            {
                var entry = _heldOrder.Dequeue();
                if (IsHeld(entry))
                {
                    _heldOrder.Enqueue(entry);
                }
            }
        }
    }

    private bool IsHeld((int Pid, int Fd) entry) => _heldStat.TryGetValue(entry.Pid, out var fd) && fd == entry.Fd;

    /// <summary>Reads <c>stat</c> through the file held since the fork, if any; -2 when none is held (or it failed).</summary>
    private int ReadHeldStat(int pid)
    {
        if (!_heldStat.Remove(pid, out var fd))
        {
            return -2;
        }

        var length = ReadAll(fd, SmallBuffer, fromStart: true);
        ProcfsSyscalls.Close(fd);

        // A failure (the process was reaped) is left to a fresh open, which words the error the usual way.
        return length > 0 ? length : -2;
    }

    /// <summary>
    /// False when the process is gone altogether (then the sample holds one error saying so). The arg area is
    /// (0, 0) when stat could not be read or parsed, or the kernel did not show it.
    /// </summary>
    private bool ReadStat(ProcessSample sample, ref ProcReadFailures failures, ref int gone, out ArgArea argArea)
    {
        argArea = default;
        var errno = 0;
        var length = ReadHeldStat(sample.Pid);
        if (length == -2)
        {
            length = ReadFile(sample.Pid, "stat"u8, SmallBuffer, out errno);
        }

        if (length < 0)
        {
            if (IsGone(errno))
            {
                sample.AddError($"cannot read {ProcRoot}/{sample.Pid}: {Describe(errno)}");
                failures = ProcReadFailures.AllKinds | ProcReadFailures.Exited;
                return false;
            }

            Fail(sample, ref failures, ref gone, ProcReadFailures.Stat, "stat", errno);
            return true;
        }

        var content = _buffer.AsSpan(0, length);
        if (!ProcStatParser.TryParse(content, out var stat))
        {
            failures |= ProcReadFailures.Stat;
            sample.AddError($"cannot parse {ProcRoot}/{sample.Pid}/stat: unexpected format");
            return true;
        }

        ApplyStat(sample, content, stat);
        ProcStatParser.TryParseArgArea(content, out argArea.Start, out argArea.End, out argArea.StackStart);
        return true;
    }

    /// <summary>Where a process's argument strings are and where its <c>argc</c> is (all 0 when unknown).</summary>
    private struct ArgArea
    {
        public ulong Start;
        public ulong End;
        public ulong StackStart;

        public readonly ulong Size => End > Start ? End - Start : 0;
    }

    private void ReadCmdline(ProcessSample sample, ArgArea area, ref ProcReadFailures failures, ref int gone)
    {
        if (gone == 0 && TryCopyArguments(sample, area))
        {
            return;
        }

        // One byte beyond the limit says whether there is more, without reading a 1 MiB command line whole.
        var errno = gone;
        var length = gone != 0 ? -1 : ReadFile(sample.Pid, "cmdline"u8, _maxArgsBytes + 1, out errno);
        if (length < 0)
        {
            Fail(sample, ref failures, ref gone, ProcReadFailures.Cmdline, "cmdline", errno);
            return;
        }

        if (length > _maxArgsBytes)
        {
            SetTruncatedArgs(sample, _buffer.AsSpan(0, _maxArgsBytes), area);
            return;
        }

        sample.Args = CmdlineDecoder.Decode(_buffer.AsSpan(0, length));
    }

    private void SetTruncatedArgs(ProcessSample sample, ReadOnlySpan<byte> kept, ArgArea area)
    {
        sample.Args = CmdlineDecoder.DecodeTruncated(kept);
        sample.ArgsTruncated = true;
        sample.ArgsTrueCount = ReadArgumentCount(sample.Pid, area, sample.Args.Length);
    }

    /// <summary>
    /// The process's <c>argc</c>, read where the kernel put it at exec (the word at <c>startstack</c>), or null
    /// when it cannot be read or does not fit what is known: at least the arguments already decoded, and at most
    /// one per byte of the argument area (each ends in a NUL). Read only for cut command lines: counting the
    /// NULs of the rest instead would mean reading all of it.
    /// </summary>
    private int? ReadArgumentCount(int pid, ArgArea area, int decoded)
    {
        if (!_useProcessCalls || !_copyArguments || area.StackStart == 0)
        {
            return null;
        }

        ulong argc = 0;
        var local = new ProcfsSyscalls.IoVec { Base = &argc, Length = sizeof(ulong) };
        var remote = new ProcfsSyscalls.IoVec { Base = (void*)area.StackStart, Length = sizeof(ulong) };
        if (ProcfsSyscalls.ProcessVmReadv(pid, &local, 1, &remote, 1, 0) != sizeof(ulong))
        {
            return null;
        }

        return argc >= (ulong)decoded && argc <= area.Size ? (int)argc : null;
    }

    /// <summary>
    /// Copies the argument strings out of the process with process_vm_readv: what reading <c>cmdline</c> returns
    /// when the area still ends in NUL (the kernel's own test for "argv not rewritten by setproctitle"), one
    /// system call instead of three and no /proc entry to create. An area larger than the limit is copied up to
    /// the limit, with its last byte for that test. False (read the file instead) for zombies and kernel threads
    /// (no area), rewritten areas, and any refusal.
    /// </summary>
    private bool TryCopyArguments(ProcessSample sample, ArgArea area)
    {
        if (!_useProcessCalls || !_copyArguments || area.Size == 0)
        {
            return false;
        }

        var size = area.Size;
        var truncated = size > (ulong)_maxArgsBytes;
        var kept = truncated ? _maxArgsBytes : (int)size;
        var expected = truncated ? kept + 1 : kept;
        EnsureBuffer(expected);
        nint copied;
        fixed (byte* buffer = _buffer)
        {
            var local = stackalloc ProcfsSyscalls.IoVec[2];
            var remote = stackalloc ProcfsSyscalls.IoVec[2];
            local[0] = new ProcfsSyscalls.IoVec { Base = buffer, Length = kept };
            remote[0] = new ProcfsSyscalls.IoVec { Base = (void*)area.Start, Length = kept };
            local[1] = new ProcfsSyscalls.IoVec { Base = buffer + kept, Length = 1 };
            remote[1] = new ProcfsSyscalls.IoVec { Base = (void*)(area.End - 1), Length = 1 };
            copied = ProcfsSyscalls.ProcessVmReadv(sample.Pid, local, truncated ? 2u : 1u, remote, truncated ? 2u : 1u, 0);
        }

        if (copied < 0)
        {
            if (Marshal.GetLastPInvokeError() is ProcfsSyscalls.EPERM or ProcfsSyscalls.EACCES or ProcfsSyscalls.ENOSYS)
            {
                // A security policy (Yama ptrace_scope 3, an LSM, a seccomp filter) says no: it will keep saying
                // no, so stop asking and read the file from now on.
                _copyArguments = false;
            }

            return false;
        }

        if (copied != expected || _buffer[expected - 1] != 0)
        {
            return false;
        }

        if (truncated)
        {
            SetTruncatedArgs(sample, _buffer.AsSpan(0, kept), area);
        }
        else
        {
            sample.Args = CmdlineDecoder.Decode(_buffer.AsSpan(0, kept));
        }

        return true;
    }

    /// <summary>Makes <see cref="_buffer"/> hold at least <paramref name="length"/> bytes (its content is not kept).</summary>
    private void EnsureBuffer(int length)
    {
        if (_buffer.Length < length)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(length);
        }
    }

    private void ReadExe(ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        if (TryReadLink(sample.Pid, "exe"u8, ref gone, out var length, out var errno))
        {
            sample.Executable = Encoding.UTF8.GetString(_buffer.AsSpan(0, length));

            // The link follows to the inode that was executed whatever happened to its path since: this is the
            // file version the digests must be of. _path still names the exe link.
            fixed (byte* path = _path)
            {
                if (Hashing.NativeFile.Stat(path, out var identity) == 0)
                {
                    sample.ExecutableIdentity = identity;
                }
            }
        }
        else
        {
            Fail(sample, ref failures, ref gone, ProcReadFailures.Exe, "exe", ZombieAware(sample, errno));
        }
    }

    private static void ApplyStat(ProcessSample sample, ReadOnlySpan<byte> content, in ProcStat stat)
    {
        sample.Name = ProcStatParser.DecodeComm(content, stat);
        sample.State = stat.State;
        sample.ParentPid = stat.ParentPid;
        sample.ProcessGroupId = stat.ProcessGroupId;
        sample.SessionId = stat.SessionId;
        sample.TtyNr = stat.TtyNr;
        sample.Flags = stat.Flags;
        sample.StartTimeTicks = stat.StartTimeTicks;
    }

    private void ReadStatus(ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        var errno = gone;
        var length = gone != 0 ? -1 : ReadFile(sample.Pid, "status"u8, SmallBuffer, out errno);
        if (length < 0)
        {
            Fail(sample, ref failures, ref gone, ProcReadFailures.Status, "status", errno);
            return;
        }

        if (!ProcStatusParser.TryParse(_buffer.AsSpan(0, length), out var status))
        {
            failures |= ProcReadFailures.Status;
            sample.AddError($"cannot parse {ProcRoot}/{sample.Pid}/status: no valid Uid/Gid lines");
            return;
        }

        sample.Uids = status.UidArray();
        sample.Gids = status.GidArray();
        sample.CapEffective = status.CapEffective;
        sample.CapPermitted = status.CapPermitted;
    }

    /// <summary>
    /// Ids (real, effective, saved, filesystem) from PIDFD_GET_INFO (Linux 6.13), capabilities from capget, and
    /// the mount namespace from PIDFD_GET_MNT_NAMESPACE (Linux 6.11): the values <c>status</c> and <c>ns/mnt</c>
    /// show, read from the same credentials. False when this kernel lacks the calls (the caller reads the files;
    /// the reader stops trying). A namespace call this kernel lacks falls back to <c>ns/mnt</c> on its own.
    /// </summary>
    private bool ReadIdentityFromPidfd(ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        if (!_pidfdInfo)
        {
            return false;
        }

        if (gone != 0)
        {
            FailIdentity(sample, gone, ref failures, ref gone);
            return true;
        }

        int pidfd;
        try
        {
            pidfd = ProcfsSyscalls.PidfdOpen(sample.Pid, 0);
        }
        catch (EntryPointNotFoundException)
        {
            _pidfdInfo = false; // a C library older than glibc 2.36
            return false;
        }

        if (pidfd < 0)
        {
            return PidfdCallFailed(sample, Marshal.GetLastPInvokeError(), ref failures, ref gone);
        }

        try
        {
            var info = new ProcfsSyscalls.PidfdInfo { Mask = ProcfsSyscalls.PIDFD_INFO_CREDS };
            if (ProcfsSyscalls.Ioctl(pidfd, ProcfsSyscalls.PIDFD_GET_INFO, &info) != 0 || (info.Mask & ProcfsSyscalls.PIDFD_INFO_CREDS) == 0)
            {
                // Before Linux 6.13 the kernel answers ENOTTY or EINVAL.
                return PidfdCallFailed(sample, Marshal.GetLastPInvokeError(), ref failures, ref gone);
            }

            var header = new ProcfsSyscalls.CapHeader { Version = ProcfsSyscalls.CapabilityVersion3, Pid = sample.Pid };
            var caps = stackalloc ProcfsSyscalls.CapData[2];
            if (ProcfsSyscalls.CapGet(&header, caps) != 0)
            {
                return PidfdCallFailed(sample, Marshal.GetLastPInvokeError(), ref failures, ref gone);
            }

            sample.Uids = [info.RealUid, info.EffectiveUid, info.SavedUid, info.FsUid];
            sample.Gids = [info.RealGid, info.EffectiveGid, info.SavedGid, info.FsGid];
            sample.CapEffective = caps[0].Effective | ((ulong)caps[1].Effective << 32);
            sample.CapPermitted = caps[0].Permitted | ((ulong)caps[1].Permitted << 32);
            ReadMountNamespaceFromPidfd(pidfd, sample, ref failures, ref gone);
            return true;
        }
        finally
        {
            ProcfsSyscalls.Close(pidfd);
        }
    }

    /// <summary>
    /// A call on the pidfd path failed: a process that is gone is an answer (ids, capabilities and namespace are
    /// missing; true), anything else means this kernel or a policy lacks the call (stop using the path for good;
    /// false, so the caller reads the files).
    /// </summary>
    private bool PidfdCallFailed(ProcessSample sample, int errno, ref ProcReadFailures failures, ref int gone)
    {
        if (!IsGone(errno))
        {
            _pidfdInfo = false;
            return false;
        }

        FailIdentity(sample, errno, ref failures, ref gone);
        return true;
    }

    private void FailIdentity(ProcessSample sample, int errno, ref ProcReadFailures failures, ref int gone)
    {
        Fail(sample, ref failures, ref gone, ProcReadFailures.Status, "status", errno);
        Fail(sample, ref failures, ref gone, ProcReadFailures.Namespace, "ns/mnt", errno);
    }

    private void ReadMountNamespaceFromPidfd(int pidfd, ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        if (!_pidfdMountNamespace)
        {
            ReadMountNamespace(sample, ref failures, ref gone);
            return;
        }

        var nsfd = ProcfsSyscalls.Ioctl(pidfd, ProcfsSyscalls.PIDFD_GET_MNT_NAMESPACE, null);
        if (nsfd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is ProcfsSyscalls.ENOTTY or ProcfsSyscalls.EINVAL)
            {
                _pidfdMountNamespace = false; // before Linux 6.11
                ReadMountNamespace(sample, ref failures, ref gone);
                return;
            }

            // A zombie has no namespaces any more: the kernel answers ESRCH.
            failures |= ProcReadFailures.Namespace;
            sample.AddError($"cannot read {ProcRoot}/{sample.Pid}/ns/mnt: {Describe(ZombieAware(sample, IsGone(errno) ? ProcfsSyscalls.ENOENT : errno))}");
            return;
        }

        var statx = stackalloc byte[ProcfsSyscalls.StatxSize];
        var empty = stackalloc byte[1];
        empty[0] = 0;
        if (ProcfsSyscalls.Statx(nsfd, empty, ProcfsSyscalls.AT_EMPTY_PATH, ProcfsSyscalls.STATX_INO, statx) == 0)
        {
            // The namespace file's inode number is the number ns/mnt shows in "mnt:[...]".
            sample.MountNamespace = *(ulong*)(statx + ProcfsSyscalls.StatxInoOffset);
        }
        else
        {
            failures |= ProcReadFailures.Namespace;
            sample.AddError($"cannot read {ProcRoot}/{sample.Pid}/ns/mnt: {Describe(Marshal.GetLastPInvokeError())}");
        }

        ProcfsSyscalls.Close(nsfd);
    }

    private void ReadCwd(ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        if (TryReadLink(sample.Pid, "cwd"u8, ref gone, out var length, out var errno))
        {
            sample.WorkingDirectory = Encoding.UTF8.GetString(_buffer.AsSpan(0, length));
        }
        else
        {
            Fail(sample, ref failures, ref gone, ProcReadFailures.Cwd, "cwd", ZombieAware(sample, errno));
        }
    }

    /// <summary>
    /// The container the process is in, from <c>cgroup</c>: one small read, parsed only when this content was not
    /// seen before (<see cref="CgroupContainerCache"/>). Read with the image at exec because a runtime moves its
    /// container's first process into the container's cgroup before it execs the entrypoint. A process that is gone
    /// is left without (its other parts already say it exited); any other failure is an error in the sample.
    /// </summary>
    private void ReadCgroup(ProcessSample sample, ref int gone)
    {
        if (gone != 0)
        {
            return;
        }

        var length = ReadFile(sample.Pid, "cgroup"u8, SmallBuffer, out var errno);
        if (length < 0)
        {
            if (!IsGone(errno))
            {
                sample.AddError($"cannot read {ProcRoot}/{sample.Pid}/cgroup: {Describe(errno)}");
            }

            return;
        }

        sample.CgroupRead = true;
        sample.Container = _containers.Find(_buffer.AsSpan(0, length));
    }

    private void ReadMountNamespace(ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        // The link reads "mnt:[4026531841]"; the number is the namespace inode.
        if (TryReadLink(sample.Pid, "ns/mnt"u8, ref gone, out var length, out var errno))
        {
            var text = _buffer.AsSpan(0, length);
            var open = text.IndexOf((byte)'[');
            if (open >= 0 && Utf8Parser.TryParse(text[(open + 1)..], out ulong inode, out var used) && used > 0)
            {
                sample.MountNamespace = inode;
                return;
            }

            failures |= ProcReadFailures.Namespace;
            sample.AddError($"cannot parse {ProcRoot}/{sample.Pid}/ns/mnt: unexpected link target");
        }
        else
        {
            Fail(sample, ref failures, ref gone, ProcReadFailures.Namespace, "ns/mnt", ZombieAware(sample, errno));
        }
    }

    /// <summary>A zombie still has /proc/&lt;pid&gt; but no exe, cwd or namespaces: say so instead of "not found".</summary>
    private static int ZombieAware(ProcessSample sample, int errno) =>
        errno == ProcfsSyscalls.ENOENT && sample.Args is { Length: 0 } ? ZombieErrno : errno;

    private const int ZombieErrno = -1;

    private void Fail(ProcessSample sample, ref ProcReadFailures failures, ref int gone, ProcReadFailures kind, string part, int errno)
    {
        failures |= kind;
        sample.AddError($"cannot read {ProcRoot}/{sample.Pid}/{part}: {Describe(errno)}");
        if (errno == ProcfsSyscalls.ESRCH || (errno == ProcfsSyscalls.ENOENT && kind is ProcReadFailures.Stat or ProcReadFailures.Status or ProcReadFailures.Cmdline))
        {
            // stat/status/cmdline exist for every live or zombie task: ENOENT/ESRCH there means it was reaped.
            gone = errno;
        }
    }

    private bool TryReadLink(int pid, ReadOnlySpan<byte> name, ref int gone, out int length, out int errno)
    {
        length = 0;
        if (gone != 0)
        {
            errno = gone;
            return false;
        }

        nint n;
        fixed (byte* path = _path)
        fixed (byte* buffer = _buffer)
        {
            SetPidPath(pid, name);
            n = ProcfsSyscalls.ReadLink(path, buffer, LinkBuffer);
        }

        if (n < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return false;
        }

        errno = 0;
        length = (int)n;
        return true;
    }

    /// <summary>Reads a whole <c>/proc/&lt;pid&gt;/&lt;name&gt;</c> into <see cref="_buffer"/>; the length, or -1 and errno.</summary>
    private int ReadFile(int pid, ReadOnlySpan<byte> name, int max, out int errno)
    {
        int fd;
        fixed (byte* path = _path)
        {
            SetPidPath(pid, name);
            fd = ProcfsSyscalls.Open(path, ProcfsSyscalls.O_RDONLY | ProcfsSyscalls.O_CLOEXEC);
        }

        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return -1;
        }

        try
        {
            var length = ReadAll(fd, max);
            errno = length < 0 ? Marshal.GetLastPInvokeError() : 0;
            return length;
        }
        finally
        {
            ProcfsSyscalls.Close(fd);
        }
    }

    /// <summary>Reads to the end (a short read) or <paramref name="max"/> bytes, growing the pooled buffer as needed.</summary>
    private int ReadAll(int fd, int max, bool fromStart = false)
    {
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                if (length >= max)
                {
                    return length;
                }

                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(max, _buffer.Length * 4));
                _buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }

            nint n;
            fixed (byte* buffer = _buffer)
            {
                // pread from 0 on a file read before makes the kernel produce it afresh.
                n = fromStart
                    ? ProcfsSyscalls.PRead(fd, buffer + length, Math.Min(_buffer.Length, max) - length, length)
                    : ProcfsSyscalls.Read(fd, buffer + length, Math.Min(_buffer.Length, max) - length);
            }

            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == ProcfsSyscalls.EINTR)
                {
                    continue;
                }

                return -1;
            }

            if (n == 0)
            {
                return length;
            }

            length += (int)n;
            if (length >= max)
            {
                return max;
            }

            // /proc's stat, status (seq_file single_show) and cmdline hand out everything they have in one
            // read when the buffer is large enough, so a short read is the end: skipping the read that would
            // return 0 saves a syscall per file on the hot path.
            if (length < _buffer.Length)
            {
                return length;
            }
        }
    }

    /// <summary>Hands a buffer grown for a huge command line back to the pool so one 1 MiB argv is not kept.</summary>
    private void ShrinkBuffer()
    {
        if (_buffer.Length > 4 * SmallBuffer)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(SmallBuffer);
        }
    }

    private void SetPidPath(int pid, ReadOnlySpan<byte> file)
    {
        var span = _path.AsSpan(_pathPrefix.Length);
        Utf8Formatter.TryFormat(pid, span, out var written);
        if (!file.IsEmpty)
        {
            span[written++] = (byte)'/';
            file.CopyTo(span[written..]);
            written += file.Length;
        }

        span[written] = 0;
    }

    private static bool IsGone(int errno) => errno is ProcfsSyscalls.ENOENT or ProcfsSyscalls.ESRCH;

    internal static string Describe(int errno) => errno switch
    {
        ZombieErrno => "process exited (zombie)",
        ProcfsSyscalls.ENOENT or ProcfsSyscalls.ESRCH => "process exited",
        ProcfsSyscalls.EACCES or ProcfsSyscalls.EPERM => "permission denied",
        _ => Marshal.GetPInvokeErrorMessage(errno),
    };
}
