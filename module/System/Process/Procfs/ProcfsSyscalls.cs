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
    public const int CLOCK_REALTIME = 0;
    public const int CLOCK_MONOTONIC = 1;
    public const int CLOCK_BOOTTIME = 7;
    public const int _SC_CLK_TCK = 2;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    public static partial int Open(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    public static partial int OpenAt(int dirFd, byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true)]
    public static partial nint ReadLinkAt(int dirFd, byte* path, byte* buffer, nint size);

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
