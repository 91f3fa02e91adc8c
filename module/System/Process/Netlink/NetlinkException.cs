using global::System.Runtime.InteropServices;

namespace Shipper.Module.System.Process.Netlink;

/// <summary>The proc connector could not be opened or subscribed; the message names the step and the reason.</summary>
public sealed class NetlinkException : Exception
{
    public NetlinkException(string message, int errno = 0)
        : base(message)
    {
        Errno = errno;
    }

    public int Errno { get; }

    public static NetlinkException FromErrno(string step, int errno)
    {
        var hint = errno is NetlinkSyscalls.EPERM or NetlinkSyscalls.EACCES
            ? " (the proc connector needs root or CAP_NET_ADMIN)"
            : errno == NetlinkSyscalls.EPROTONOSUPPORT ? " (kernel built without CONFIG_CONNECTOR)" : "";
        return new NetlinkException($"{step} failed: {Marshal.GetPInvokeErrorMessage(errno)}{hint}", errno);
    }
}
