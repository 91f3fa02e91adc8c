namespace Shipper.Module.System.Process.Tracking;

/// <summary>
/// How a process ended, decoded from the kernel's wait status (<c>task->exit_code</c>, as the proc connector
/// reports it). <see cref="Code"/> follows quark and Auditbeat: <c>(status &gt;&gt; 8) &amp; 0xff</c>, which is 0 when
/// a signal killed the process; <see cref="Signal"/> then names the signal.
/// </summary>
public readonly record struct ExitStatus(bool Known, int Code, int Signal, bool CoreDumped)
{
    public static ExitStatus Unknown => default;

    public static ExitStatus FromWaitStatus(uint status) =>
        new(Known: true, Code: (int)((status >> 8) & 0xff), Signal: (int)(status & 0x7f), CoreDumped: (status & 0x80) != 0);
}
