using global::System.Runtime.InteropServices;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// The few libc calls the hasher needs and .NET does not expose: statx (device and inode, nanosecond times)
/// and open with O_NONBLOCK|O_NOATIME, so that a path swapped for a FIFO cannot hang a worker and hashing does
/// not touch atime. Errors come back as errno values; nothing here throws for a missing file.
/// </summary>
internal static unsafe partial class NativeFile
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x07ff;

    private const int ORdOnly = 0x0;
    private const int ONoCtty = 0x100;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const int ONoAtime = 0x40000;

    public const int ENoEnt = 2;
    public const int EIntr = 4;
    public const int ESrch = 3;
    public const int EPerm = 1;

    private const int StatxSize = 256;

    /// <summary>statx of a path, following symbolic links (and the /proc/&lt;pid&gt;/exe magic link).</summary>
    public static int Stat(string path, out FileIdentity identity) => StatCore(AtFdCwd, path, 0, out identity);

    /// <summary>statx of a NUL-terminated path (the /proc reader's own buffer), following links.</summary>
    public static int Stat(byte* path, out FileIdentity identity)
    {
        byte* buffer = stackalloc byte[StatxSize];
        if (StatxBytes(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0)
        {
            identity = default;
            return Marshal.GetLastPInvokeError();
        }

        identity = Decode(buffer);
        return 0;
    }

    /// <summary>statx of an open descriptor: the file actually being read.</summary>
    public static int Stat(int fd, out FileIdentity identity) => StatCore(fd, "", AtEmptyPath, out identity);

    /// <summary>Opens read-only; returns the descriptor, or -errno.</summary>
    public static int OpenForReading(string path)
    {
        const int flags = ORdOnly | ONoCtty | ONonBlock | OCloExec;
        var fd = Open(path, flags | ONoAtime);
        if (fd >= 0)
        {
            return fd;
        }

        var error = Marshal.GetLastPInvokeError();
        if (error != EPerm)
        {
            return -error;
        }

        // O_NOATIME needs ownership or CAP_FOWNER.
        fd = Open(path, flags);
        return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Reads at <paramref name="offset"/>; returns bytes read (0 at end of file) or -errno.</summary>
    public static int ReadAt(int fd, Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = Pread(fd, p, (nuint)buffer.Length, offset);
                if (n >= 0)
                {
                    return (int)n;
                }

                var error = Marshal.GetLastPInvokeError();
                if (error != EIntr)
                {
                    return -error;
                }
            }
        }
    }

    public static void Close(int fd) => CloseNative(fd);

    /// <summary>"No such file or directory (ENOENT)"-style text for an errno.</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";

    private static int StatCore(int dirFd, string path, int flags, out FileIdentity identity)
    {
        byte* buffer = stackalloc byte[StatxSize];
        if (Statx(dirFd, path, flags, StatxBasicStats, buffer) != 0)
        {
            identity = default;
            return Marshal.GetLastPInvokeError();
        }

        identity = Decode(buffer);
        return 0;
    }

    // struct statx (linux/stat.h): offsets fixed by the kernel ABI on every architecture.
    private static FileIdentity Decode(byte* buffer) =>
        new(
            Device: MakeDevice(*(uint*)(buffer + 136), *(uint*)(buffer + 140)),
            Inode: *(ulong*)(buffer + 32),
            Size: *(long*)(buffer + 40),
            Mode: *(ushort*)(buffer + 28),
            Uid: *(uint*)(buffer + 20),
            Gid: *(uint*)(buffer + 24),
            LinkCount: *(uint*)(buffer + 16),
            ModifiedSeconds: *(long*)(buffer + 112),
            ModifiedNanoseconds: *(uint*)(buffer + 120),
            ChangedSeconds: *(long*)(buffer + 96),
            ChangedNanoseconds: *(uint*)(buffer + 104));

    // glibc's makedev encoding, so Device compares equal to st_dev.
    internal static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) |
        ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int StatxBytes(int dirFd, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static partial nint Pread(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int CloseNative(int fd);
}
