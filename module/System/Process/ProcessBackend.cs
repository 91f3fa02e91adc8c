namespace Shipper.Module.System.Process;

/// <summary>Where process events come from (<c>process.backend</c>).</summary>
public enum ProcessBackend
{
    /// <summary>Netlink when permitted, else procfs; the choice and its reason are logged.</summary>
    Auto,

    /// <summary>The kernel's proc connector: real time. Auditbeat's <c>kernel_tracing</c> maps here.</summary>
    Netlink,

    /// <summary>Polling /proc every <c>process.procfs.period</c>: sees only what lives across a poll.</summary>
    Procfs,
}
