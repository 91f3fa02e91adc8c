namespace Shipper.Tests.Module.System.Process.Netlink;

/// <summary>The kinds of netlink message <see cref="NetlinkPart"/> generates.</summary>
public enum NetlinkPartShape
{
    Event,
    OtherConnector,
    Noop,
    Error,
    Overrun,
    OtherNetlinkType,
    ShortConnector,
    ShortUnion,
    LongData,
}
