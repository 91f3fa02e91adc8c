namespace Shipper.Module.System.Process;

/// <summary>Where process events come from (<c>process.backend</c>).</summary>
public enum ProcessBackend
{
    /// <summary>eBPF when it loads, else netlink when permitted, else procfs; the choice and each reason are logged.</summary>
    Auto,

    /// <summary>Our BPF program: every fork, exec and exit taken in the kernel as it happens.</summary>
    Ebpf,

    /// <summary>Auditbeat's <c>kernel_tracing</c>: eBPF when it loads, else netlink (saying why).</summary>
    KernelTracing,

    /// <summary>The kernel's proc connector: real time, with /proc read after each event.</summary>
    Netlink,

    /// <summary>Polling /proc every <c>process.procfs.period</c>: sees only what lives across a poll.</summary>
    Procfs,
}
