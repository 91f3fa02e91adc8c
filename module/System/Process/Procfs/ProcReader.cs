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
    public const int DefaultMaxCmdlineBytes = 4 * 1024 * 1024;

    private const int SmallBuffer = 16 * 1024;
    private const int LinkBuffer = 4096 + 1;

    private readonly byte[] _pathPrefix;
    private readonly byte[] _path;
    private readonly int _maxCmdlineBytes;
    private byte[] _buffer;
    private bool _disposed;

    /// <param name="procRoot">Normally <c>/proc</c>; tests point it at a fake tree.</param>
    /// <param name="maxCmdlineBytes">Longer command lines are cut here and flagged in the errors.</param>
    public ProcReader(string procRoot = "/proc", int maxCmdlineBytes = DefaultMaxCmdlineBytes)
    {
        ProcRoot = procRoot.TrimEnd('/');
        _pathPrefix = Encoding.UTF8.GetBytes(ProcRoot + "/");
        _path = new byte[_pathPrefix.Length + 32];
        _pathPrefix.CopyTo(_path, 0);
        _maxCmdlineBytes = maxCmdlineBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(SmallBuffer);
    }

    public string ProcRoot { get; }

    public ProcessSample Read(int pid) => Read(pid, out _);

    /// <summary>
    /// Reads, in this order because short-lived processes lose them in this order: <c>cmdline</c>, <c>exe</c>,
    /// <c>stat</c>, <c>status</c>, <c>cwd</c>, <c>ns/mnt</c>. All are read relative to one open directory handle
    /// of <c>/proc/&lt;pid&gt;</c>, so if the pid is reused mid-read we get "process exited", never a mix of two
    /// processes.
    /// </summary>
    public ProcessSample Read(int pid, out ProcReadFailures failures)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        failures = ProcReadFailures.None;
        var sample = new ProcessSample { Pid = pid };
        int dirFd;
        fixed (byte* path = _path)
        {
            SetPidPath(pid, ReadOnlySpan<byte>.Empty);
            dirFd = ProcfsSyscalls.Open(path, ProcfsSyscalls.O_RDONLY | ProcfsSyscalls.O_CLOEXEC);
        }

        if (dirFd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            sample.AddError($"cannot read {ProcRoot}/{pid}: {Describe(errno)}");
            failures = ProcReadFailures.AllKinds | (IsGone(errno) ? ProcReadFailures.Exited : 0);
            return sample;
        }

        try
        {
            var gone = 0; // errno once the process is known to be gone: later parts are not even tried
            ReadCmdline(dirFd, sample, ref failures, ref gone);
            ReadExe(dirFd, sample, ref failures, ref gone);
            ReadStat(dirFd, sample, ref failures, ref gone);
            ReadStatus(dirFd, sample, ref failures, ref gone);
            ReadCwd(dirFd, sample, ref failures, ref gone);
            ReadMountNamespace(dirFd, sample, ref failures, ref gone);
            if (gone != 0 || sample.Args is { Length: 0 })
            {
                failures |= ProcReadFailures.Exited;
            }
        }
        finally
        {
            ProcfsSyscalls.Close(dirFd);
            ShrinkBuffer();
        }

        return sample;
    }

    /// <summary>
    /// A sample from <c>stat</c> alone (<see cref="ProcessSample.StatOnly"/>): start time, parent, name, session,
    /// tty, flags. What a fork needs, at a fifth of the cost of <see cref="Read(int, out ProcReadFailures)"/>.
    /// </summary>
    public ProcessSample ReadStatOnly(int pid, out ProcReadFailures failures)
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
            ProcfsSyscalls.Close(fd);
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

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private void ReadCmdline(int dirFd, ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        var length = ReadFileAt(dirFd, "cmdline\0"u8, _maxCmdlineBytes, out var errno);
        if (length < 0)
        {
            Fail(sample, ref failures, ref gone, ProcReadFailures.Cmdline, "cmdline", errno);
            return;
        }

        sample.Args = CmdlineDecoder.Decode(_buffer.AsSpan(0, length));
        if (length >= _maxCmdlineBytes)
        {
            sample.AddError($"{ProcRoot}/{sample.Pid}/cmdline truncated at {_maxCmdlineBytes} bytes");
        }
    }

    private void ReadExe(int dirFd, ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        if (TryReadLinkAt(dirFd, "exe\0"u8, ref gone, out var length, out var errno))
        {
            sample.Executable = Encoding.UTF8.GetString(_buffer.AsSpan(0, length));
        }
        else
        {
            Fail(sample, ref failures, ref gone, ProcReadFailures.Exe, "exe", ZombieAware(sample, errno));
        }
    }

    private void ReadStat(int dirFd, ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        var errno = gone;
        var length = gone != 0 ? -1 : ReadFileAt(dirFd, "stat\0"u8, SmallBuffer, out errno);
        if (length < 0)
        {
            Fail(sample, ref failures, ref gone, ProcReadFailures.Stat, "stat", errno);
            return;
        }

        var content = _buffer.AsSpan(0, length);
        if (!ProcStatParser.TryParse(content, out var stat))
        {
            failures |= ProcReadFailures.Stat;
            sample.AddError($"cannot parse {ProcRoot}/{sample.Pid}/stat: unexpected format");
            return;
        }

        ApplyStat(sample, content, stat);
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

    private void ReadStatus(int dirFd, ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        var errno = gone;
        var length = gone != 0 ? -1 : ReadFileAt(dirFd, "status\0"u8, SmallBuffer, out errno);
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

    private void ReadCwd(int dirFd, ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        if (TryReadLinkAt(dirFd, "cwd\0"u8, ref gone, out var length, out var errno))
        {
            sample.WorkingDirectory = Encoding.UTF8.GetString(_buffer.AsSpan(0, length));
        }
        else
        {
            Fail(sample, ref failures, ref gone, ProcReadFailures.Cwd, "cwd", ZombieAware(sample, errno));
        }
    }

    private void ReadMountNamespace(int dirFd, ProcessSample sample, ref ProcReadFailures failures, ref int gone)
    {
        // The link reads "mnt:[4026531841]"; the number is the namespace inode.
        if (TryReadLinkAt(dirFd, "ns/mnt\0"u8, ref gone, out var length, out var errno))
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

    private bool TryReadLinkAt(int dirFd, ReadOnlySpan<byte> name, ref int gone, out int length, out int errno)
    {
        length = 0;
        if (gone != 0)
        {
            errno = gone;
            return false;
        }

        nint n;
        fixed (byte* namePtr = name)
        fixed (byte* buffer = _buffer)
        {
            n = ProcfsSyscalls.ReadLinkAt(dirFd, namePtr, buffer, LinkBuffer);
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

    /// <summary>Reads a whole file under the directory handle into <see cref="_buffer"/>; the length, or -1 and errno.</summary>
    private int ReadFileAt(int dirFd, ReadOnlySpan<byte> name, int max, out int errno)
    {
        int fd;
        fixed (byte* namePtr = name)
        {
            fd = ProcfsSyscalls.OpenAt(dirFd, namePtr, ProcfsSyscalls.O_RDONLY | ProcfsSyscalls.O_CLOEXEC);
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
    private int ReadAll(int fd, int max)
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
                n = ProcfsSyscalls.Read(fd, buffer + length, Math.Min(_buffer.Length, max) - length);
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
