using global::System.Runtime.InteropServices;

namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// The few libc calls the /proc readers need. Raw calls instead of FileStream/File.ReadAllBytes because the
/// reader runs once per kernel event on the hot path: no SafeHandle, no string path, no allocation, and the
/// errno tells "process exited" apart from "permission denied".
/// </summary>
internal static unsafe partial class ProcfsSyscalls
{
    // Same values on x86_64 and aarch64 (asm-generic); O_DIRECTORY is not, so it is deliberately not used.
    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EACCES = 13;
    public const int EINVAL = 22;
    public const int ENOTTY = 25;
    public const int ENOSYS = 38;
    public const int AT_EMPTY_PATH = 0x1000;
    public const int AT_FDCWD = -100;
    public const uint STATX_NLINK = 0x4;
    public const uint STATX_INO = 0x100;

    /// <summary>Offset of <c>stx_nlink</c> in <c>struct statx</c> (after mask, blksize and attributes).</summary>
    public const int StatxNlinkOffset = 16;

    /// <summary>Offset of <c>stx_ino</c> in <c>struct statx</c> (the same on every architecture).</summary>
    public const int StatxInoOffset = 32;

    public const int StatxSize = 256;

    /// <summary><c>_LINUX_CAPABILITY_VERSION_3</c>: two 32-bit words per set.</summary>
    public const uint CapabilityVersion3 = 0x20080522;

    /// <summary><c>PIDFD_GET_INFO</c> = <c>_IOWR(0xFF, 11, struct pidfd_info)</c> with the 64-byte first version of the struct.</summary>
    public const uint PIDFD_GET_INFO = 0xC040FF0B;

    /// <summary><c>PIDFD_GET_MNT_NAMESPACE</c> = <c>_IO(0xFF, 3)</c>: a new descriptor for the process's mount namespace.</summary>
    public const uint PIDFD_GET_MNT_NAMESPACE = 0x0000FF03;

    public const ulong PIDFD_INFO_CREDS = 1UL << 1;
    public const int CLOCK_REALTIME = 0;
    public const int CLOCK_MONOTONIC = 1;
    public const int CLOCK_BOOTTIME = 7;
    public const int _SC_CLK_TCK = 2;

    /// <summary><c>struct pidfd_info</c>, first published version (64 bytes, Linux 6.13).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PidfdInfo
    {
        public ulong Mask;
        public ulong CgroupId;
        public uint Pid;
        public uint Tgid;
        public uint ParentPid;
        public uint RealUid;
        public uint RealGid;
        public uint EffectiveUid;
        public uint EffectiveGid;
        public uint SavedUid;
        public uint SavedGid;
        public uint FsUid;
        public uint FsGid;
        public int ExitCode;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    public static partial int Open(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(int fd, byte* buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true)]
    public static partial nint ReadLink(byte* path, byte* buffer, nint size);

    [LibraryImport("libc", EntryPoint = "pidfd_open", SetLastError = true)]
    public static partial int PidfdOpen(int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* argument);

    [LibraryImport("libc", EntryPoint = "capget", SetLastError = true)]
    public static partial int CapGet(CapHeader* header, CapData* data);

    [LibraryImport("libc", EntryPoint = "process_vm_readv", SetLastError = true)]
    public static partial nint ProcessVmReadv(int pid, IoVec* local, nuint localCount, IoVec* remote, nuint remoteCount, nuint flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    public static partial int Statx(int dirFd, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "opendir", SetLastError = true)]
    public static partial nint OpenDir(byte* path);

    [LibraryImport("libc", EntryPoint = "readdir", SetLastError = true)]
    public static partial byte* ReadDir(nint dir);

    [LibraryImport("libc", EntryPoint = "closedir", SetLastError = true)]
    public static partial int CloseDir(nint dir);

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    public static partial int ClockGetTime(int clockId, Timespec* time);

    [LibraryImport("libc", EntryPoint = "sysconf", SetLastError = true)]
    public static partial long SysConf(int name);

    public static long Now(int clockId)
    {
        Timespec t;
        ClockGetTime(clockId, &t);
        return (t.Seconds * 1_000_000_000L) + t.Nanoseconds;
    }
}
