using global::System.Buffers.Binary;
using global::System.Text;
using Shipper.Module.System.Process.Hashing;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Module.System.Process.Ebpf;

/// <summary>
/// One ring buffer record of process.bpf.c (<c>struct record</c>: a fixed header, then the executable path, the
/// working directory and the NUL-separated arguments), decoded into the event and sample the netlink source would
/// have produced, with everything taken in the kernel at the instant of the event.
/// </summary>
internal static class EbpfRecord
{
    public const int HeaderSize = 224;

    /// <summary>Room the program keeps for the two paths (4 KiB each, as PATH_MAX).</summary>
    public const int PathsSize = 8192;

    public const uint KindFork = 1;
    public const uint KindExec = 2;
    public const uint KindExit = 3;

    public const uint ArgsTruncated = 0x1;
    public const uint ExecutableIncomplete = 0x2;
    public const uint WorkingDirectoryIncomplete = 0x4;
    public const uint ExecutableDeleted = 0x8;
    public const uint NoExecutable = 0x10;
    public const uint NoWorkingDirectory = 0x20;
    public const uint ArgsUnreadable = 0x40;
    public const uint NoMemory = 0x80;

    private const long NanosecondsPerSecond = 1_000_000_000;

    public static uint Kind(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadUInt32LittleEndian(record);

    public static uint Flags(ReadOnlySpan<byte> record) => U32(record, 4);

    /// <summary>
    /// The event and, for a fork or an exec, its sample; false for a record too short for what it says it holds
    /// (never seen from a kernel that ran our program, but the bytes cross a trust boundary all the same).
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> record, long clockTicksPerSecond, out ProcConnectorEvent e, out ProcessSample? sample)
    {
        e = default;
        sample = null;
        if (record.Length < HeaderSize)
        {
            return false;
        }

        var kind = Kind(record);
        var pid = (int)U32(record, 56);
        var tgid = (int)U32(record, 60);
        var ppid = (int)U32(record, 64);
        var timestamp = U64(record, 8);
        switch (kind)
        {
            case KindFork:
                e = new ProcConnectorEvent(ProcEventType.Fork, 0, timestamp, pid, tgid, ppid, ppid, 0, 0);
                sample = Task(record, clockTicksPerSecond);
                return true;
            case KindExec:
                var exeLength = U32(record, 200);
                var cwdLength = U32(record, 204);
                var argsLength = U32(record, 208);
                if ((long)exeLength + cwdLength + argsLength > record.Length - HeaderSize)
                {
                    return false;
                }

                e = new ProcConnectorEvent(ProcEventType.Exec, 0, timestamp, tgid, tgid, 0, 0, 0, 0);
                sample = Task(record, clockTicksPerSecond);
                Image(record, sample, (int)exeLength, (int)cwdLength, (int)argsLength);
                return true;
            case KindExit:
                // The process's exit, reported by its last thread: the process is the thread group.
                e = new ProcConnectorEvent(ProcEventType.Exit, 0, timestamp, tgid, tgid, ppid, ppid, U32(record, 84), U32(record, 88));
                return true;
            default:
                return false;
        }
    }

    /// <summary>What the kernel says of the task itself: the fields /proc's stat and status would give.</summary>
    private static ProcessSample Task(ReadOnlySpan<byte> record, long clockTicksPerSecond)
    {
        var startNs = U64(record, 16);
        var comm = record.Slice(124, 16);
        var end = comm.IndexOf((byte)0);
        return new ProcessSample
        {
            Pid = (int)U32(record, 60),
            ParentPid = (int)U32(record, 64),
            Name = Encoding.UTF8.GetString(end < 0 ? comm : comm[..end]),
            State = 'R',
            ProcessGroupId = (int)U32(record, 68),
            SessionId = (int)U32(record, 72),
            TtyNr = (int)U32(record, 76),
            Flags = U32(record, 80),
            // As the kernel computes stat's starttime (nsec_to_clock_t), so it compares equal with a /proc read.
            StartTimeTicks = startNs / (ulong)(NanosecondsPerSecond / clockTicksPerSecond),
            StartBootNanoseconds = startNs,
            Uids = [U32(record, 92), U32(record, 96), U32(record, 100), U32(record, 104)],
            Gids = [U32(record, 108), U32(record, 112), U32(record, 116), U32(record, 120)],
            CapEffective = U64(record, 40),
            CapPermitted = U64(record, 48),
            MountNamespace = U64(record, 24),
        };
    }

    private static void Image(ReadOnlySpan<byte> record, ProcessSample sample, int exeLength, int cwdLength, int argsLength)
    {
        var flags = Flags(record);
        var data = record[HeaderSize..];
        if ((flags & (NoExecutable | ExecutableIncomplete)) == 0)
        {
            var path = Encoding.UTF8.GetString(data[..exeLength]);
            // As /proc/<pid>/exe (d_path) shows a file that was unlinked: memfds and deleted files alike.
            sample.Executable = (flags & ExecutableDeleted) != 0 ? path + " (deleted)" : path;
            var device = U32(record, 196);
            sample.ExecutableIdentity = new FileIdentity(
                Device: NativeFile.MakeDevice(device >> 20, device & 0xfffff), // the kernel's dev_t: 12-bit major, 20-bit minor
                Inode: U64(record, 144),
                Size: (long)U64(record, 152),
                Mode: U32(record, 140) & 0xffff,
                Uid: U32(record, 184),
                Gid: U32(record, 188),
                LinkCount: U32(record, 192),
                ModifiedSeconds: (long)U64(record, 160),
                ModifiedNanoseconds: U32(record, 176),
                ChangedSeconds: (long)U64(record, 168),
                ChangedNanoseconds: U32(record, 180));
        }

        if ((flags & (NoWorkingDirectory | WorkingDirectoryIncomplete)) == 0)
        {
            sample.WorkingDirectory = Encoding.UTF8.GetString(data.Slice(exeLength, cwdLength));
        }

        if ((flags & (NoMemory | ArgsUnreadable)) == 0)
        {
            var args = data.Slice(exeLength + cwdLength, argsLength);
            sample.Args = (flags & ArgsTruncated) != 0 ? CmdlineDecoder.DecodeTruncated(args) : CmdlineDecoder.Decode(args);
            sample.ArgsTruncated = (flags & ArgsTruncated) != 0;
            if (sample.ArgsTruncated && U32(record, 216) is var argc and > 0 and <= int.MaxValue)
            {
                sample.ArgsTrueCount = (int)argc;
            }
        }
        else
        {
            sample.AddError($"the kernel could not read the arguments of PID {sample.Pid} at its exec{((flags & NoMemory) != 0 ? " (no user memory)" : "")}");
        }
    }

    private static uint U32(ReadOnlySpan<byte> record, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(record[offset..]);

    private static ulong U64(ReadOnlySpan<byte> record, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(record[offset..]);
}
