using System.Runtime.InteropServices;

namespace Shipper.Tests.Cmd.Watchdog;

internal static partial class LibCForTests
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
