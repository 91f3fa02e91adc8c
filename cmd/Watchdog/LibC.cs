using System.Runtime.InteropServices;

namespace Shipper.Watchdog;

/// <summary>The few libc calls the host needs that .NET does not expose (signals other than SIGKILL, prctl, getppid, syncing a directory, an inheritable socket pair).</summary>
internal static partial class LibC
{
    // Linux signal numbers (the same on x86-64 and arm64).
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGTERM = 15;

    public const int PR_SET_PDEATHSIG = 1;

    private const int _SC_CLK_TCK = 2;

    public const int ESRCH = 3;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport("libc", EntryPoint = "getppid")]
    public static partial int GetParentPid();

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    public static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "pidfd_open", SetLastError = true)]
    public static partial int PidfdOpen(int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "pidfd_send_signal", SetLastError = true)]
    public static partial int PidfdSendSignal(int pidfd, int signal, nint info, uint flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    // socketpair(2) and fcntl(2) for the watcher's link to its worker; the same values on x86-64 and arm64.
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int F_SETFD = 2;
    public const int FD_CLOEXEC = 1;

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    public static unsafe partial int SocketPair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    /// <summary>
    /// Makes a directory's entries durable (files created, renamed or deleted in it), which .NET cannot do: it
    /// does not open directories. Throws <see cref="IOException"/> naming the directory when that fails.
    /// </summary>
    public static void SyncDirectory(string path)
    {
        // O_RDONLY | O_CLOEXEC, the same on x86-64 and arm64 (O_DIRECTORY is not, and a read-only open of a
        // directory needs no flag to succeed).
        const int O_RDONLY_CLOEXEC = 0x80000;
        var fd = Open(path, O_RDONLY_CLOEXEC);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open directory {path} to sync it: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"cannot sync directory {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>Ends the process at once: no finalizers, no exit handlers that could hang.</summary>
    [LibraryImport("libc", EntryPoint = "_exit")]
    public static partial void ExitImmediately(int status);

    [LibraryImport("libc", EntryPoint = "sysconf", SetLastError = true)]
    private static partial long Sysconf(int name);

    /// <summary>Kernel clock ticks per second, the unit of utime/stime in /proc/&lt;pid&gt;/stat (100 on every common build).</summary>
    public static long ClockTicksPerSecond { get; } = Sysconf(_SC_CLK_TCK) is > 0 and var ticks ? ticks : 100;

    /// <summary>Sends a signal; false when the process no longer exists.</summary>
    public static bool TrySignal(int pid, int signal)
    {
        if (Kill(pid, signal) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == ESRCH)
        {
            return false;
        }

        throw new IOException($"kill({pid}, {signal}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }
}
