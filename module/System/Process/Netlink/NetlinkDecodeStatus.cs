namespace Shipper.Module.System.Process.Netlink;

public enum NetlinkDecodeStatus
{
    /// <summary>No more netlink messages in the datagram.</summary>
    End,

    /// <summary>A well-formed proc connector message (of any event type, including unknown ones).</summary>
    Message,

    /// <summary>A well-formed netlink message that is not for us (NLMSG_NOOP, another connector id).</summary>
    Ignored,

    /// <summary>Truncated or inconsistent lengths; the rest of the datagram is skipped.</summary>
    Malformed,

    /// <summary>NLMSG_ERROR; <see cref="ProcConnectorMessage.AckError"/> holds the errno.</summary>
    Error,

    /// <summary>NLMSG_OVERRUN: the kernel says data was lost.</summary>
    Overrun,
}
