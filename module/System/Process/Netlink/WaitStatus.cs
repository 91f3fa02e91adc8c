namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// Decodes the proc connector's <c>exit_code</c>, which is the kernel's <c>task->exit_code</c>: a wait(2)
/// status, not the number passed to exit(). Note that the connector's separate <c>exit_signal</c> field is
/// the signal sent to the PARENT on exit (SIGCHLD, 17, for ordinary processes), not the signal that killed it.
/// </summary>
public static class WaitStatus
{
    /// <summary>True for a normal exit; <paramref name="exitCode"/> is the 0–255 status passed to exit().</summary>
    public static bool TryGetExitCode(uint status, out int exitCode)
    {
        exitCode = (int)((status >> 8) & 0xff);
        return (status & 0x7f) == 0;
    }

    /// <summary>True when a signal ended the process; <paramref name="signal"/> is its number (9 for SIGKILL).</summary>
    public static bool TryGetTerminatingSignal(uint status, out int signal)
    {
        signal = (int)(status & 0x7f);
        return signal != 0 && signal != 0x7f;
    }

    /// <summary>Whether the kernel wrote a core dump for a signal death.</summary>
    public static bool CoreDumped(uint status) => (status & 0x80) != 0;
}
