namespace Shipper.Module.System.Process.Netlink;

public enum ProcConnectorSubscription
{
    /// <summary>Not subscribed (yet).</summary>
    None,

    /// <summary>8-byte <c>proc_input</c>: the kernel sends only the event types we asked for (Linux 6.6+).</summary>
    Filtered,

    /// <summary>4-byte <c>PROC_CN_MCAST_LISTEN</c>: every event; sequence gaps then reveal loss too.</summary>
    Classic,
}
