using global::System.Runtime.InteropServices;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// A proc connector socket: <c>socket(AF_NETLINK, SOCK_DGRAM, NETLINK_CONNECTOR)</c> bound to the
/// <c>CN_IDX_PROC</c> multicast group. Thin on purpose — the reader loop calls <see cref="Receive"/> directly
/// with its own preallocated buffer and handles errno itself.
/// </summary>
public sealed unsafe class NetlinkSocket : IDisposable
{
    private int _fd;

    private NetlinkSocket(int fd) => _fd = fd;

    public int Handle => _fd;

    /// <summary>Our netlink port id, assigned by the kernel at bind.</summary>
    public uint PortId { get; private set; }

    /// <summary>Opens and binds; throws <see cref="NetlinkException"/> naming the failing step and errno.</summary>
    public static NetlinkSocket Open()
    {
        var fd = NetlinkSyscalls.Socket(NetlinkSyscalls.AF_NETLINK, NetlinkSyscalls.SOCK_DGRAM | NetlinkSyscalls.SOCK_CLOEXEC,
            NetlinkSyscalls.NETLINK_CONNECTOR);
        if (fd < 0)
        {
            throw NetlinkException.FromErrno("socket(AF_NETLINK, NETLINK_CONNECTOR)", Marshal.GetLastPInvokeError());
        }

        var socket = new NetlinkSocket(fd);
        try
        {
            var address = new NetlinkSyscalls.SockAddrNetlink
            {
                Family = NetlinkSyscalls.AF_NETLINK,
                Groups = NetlinkCodec.CN_IDX_PROC,
            };
            if (NetlinkSyscalls.Bind(fd, &address, sizeof(NetlinkSyscalls.SockAddrNetlink)) != 0)
            {
                throw NetlinkException.FromErrno("bind to the proc connector group (CN_IDX_PROC)", Marshal.GetLastPInvokeError());
            }

            var length = sizeof(NetlinkSyscalls.SockAddrNetlink);
            if (NetlinkSyscalls.GetSockName(fd, &address, &length) == 0)
            {
                socket.PortId = address.PortId;
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Asks for <paramref name="bytes"/> of receive buffer: SO_RCVBUFFORCE first (needs CAP_NET_ADMIN, not
    /// capped by net.core.rmem_max), else SO_RCVBUF. Returns the size the kernel actually granted (it doubles
    /// the request to account for its own overhead) and whether the forced form worked.
    /// </summary>
    public int SetReceiveBuffer(int bytes, out bool forced)
    {
        var value = bytes;
        forced = NetlinkSyscalls.SetSockOpt(_fd, NetlinkSyscalls.SOL_SOCKET, NetlinkSyscalls.SO_RCVBUFFORCE, &value, sizeof(int)) == 0;
        if (!forced)
        {
            value = bytes;
            NetlinkSyscalls.SetSockOpt(_fd, NetlinkSyscalls.SOL_SOCKET, NetlinkSyscalls.SO_RCVBUF, &value, sizeof(int));
        }

        var granted = 0;
        var length = sizeof(int);
        NetlinkSyscalls.GetSockOpt(_fd, NetlinkSyscalls.SOL_SOCKET, NetlinkSyscalls.SO_RCVBUF, &granted, &length);
        return granted;
    }

    /// <summary>Bounds how long <see cref="Receive"/> blocks, so the reader can notice shutdown.</summary>
    public void SetReceiveTimeout(TimeSpan timeout)
    {
        var value = new NetlinkSyscalls.TimeVal
        {
            Seconds = (long)timeout.TotalSeconds,
            Microseconds = timeout.Microseconds + (timeout.Milliseconds * 1000L),
        };
        if (NetlinkSyscalls.SetSockOpt(_fd, NetlinkSyscalls.SOL_SOCKET, NetlinkSyscalls.SO_RCVTIMEO, &value, sizeof(NetlinkSyscalls.TimeVal)) != 0)
        {
            throw NetlinkException.FromErrno("setsockopt(SO_RCVTIMEO)", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>
    /// The socket's count of messages the kernel could not queue for us (<c>sk_drops</c>, via SO_MEMINFO,
    /// Linux 4.14+). Exact, and unaffected by the kernel-side event filter. Null when unavailable.
    /// </summary>
    public long? ReadDrops()
    {
        const int Vars = 9; // SK_MEMINFO_VARS; SK_MEMINFO_DROPS is the last
        var values = stackalloc uint[16];
        var length = 16 * sizeof(uint);
        if (NetlinkSyscalls.GetSockOpt(_fd, NetlinkSyscalls.SOL_SOCKET, NetlinkSyscalls.SO_MEMINFO, values, &length) != 0
            || length < Vars * sizeof(uint))
        {
            return null;
        }

        return values[Vars - 1];
    }

    /// <summary>
    /// One datagram into <paramref name="buffer"/>. Returns its full length (may exceed the buffer: MSG_TRUNC),
    /// or -1 with <paramref name="errno"/> set. <paramref name="senderPortId"/> is 0 for the kernel. With
    /// <paramref name="wait"/> false it returns at once, with EAGAIN when nothing is queued.
    /// </summary>
    public int Receive(Span<byte> buffer, out uint senderPortId, out int errno, bool wait = true)
    {
        var flags = NetlinkSyscalls.MSG_TRUNC | (wait ? 0 : NetlinkSyscalls.MSG_DONTWAIT);
        NetlinkSyscalls.SockAddrNetlink from = default;
        var fromLength = sizeof(NetlinkSyscalls.SockAddrNetlink);
        nint n;
        fixed (byte* p = buffer)
        {
            n = NetlinkSyscalls.RecvFrom(_fd, p, buffer.Length, flags, &from, &fromLength);
        }

        if (n < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            senderPortId = 0;
            return -1;
        }

        errno = 0;
        senderPortId = from.PortId;
        return (int)n;
    }

    /// <summary>
    /// Takes, without waiting, up to <paramref name="lengths"/>.Length queued datagrams in one call (recvmmsg),
    /// datagram i into slot i of <paramref name="buffer"/> (slots of <paramref name="slotSize"/> bytes). Returns
    /// how many were taken (0 when none was queued) or -1 with <paramref name="errno"/> set. A length above the
    /// slot size means the datagram was cut (MSG_TRUNC).
    /// </summary>
    public int ReceiveMany(Span<byte> buffer, int slotSize, Span<int> lengths, Span<uint> senderPortIds, out int errno)
    {
        var count = Math.Min(lengths.Length, Math.Min(senderPortIds.Length, buffer.Length / slotSize));
        var headers = stackalloc NetlinkSyscalls.MMsgHdr[count];
        var vectors = stackalloc ProcfsSyscalls.IoVec[count];
        var names = stackalloc NetlinkSyscalls.SockAddrNetlink[count];
        int received;
        fixed (byte* p = buffer)
        {
            for (var i = 0; i < count; i++)
            {
                vectors[i] = new ProcfsSyscalls.IoVec { Base = p + (i * slotSize), Length = slotSize };
                names[i] = default;
                headers[i] = new NetlinkSyscalls.MMsgHdr
                {
                    Name = &names[i],
                    NameLength = sizeof(NetlinkSyscalls.SockAddrNetlink),
                    Iov = &vectors[i],
                    IovLength = 1,
                };
            }

            received = NetlinkSyscalls.RecvMMsg(_fd, headers, (uint)count, NetlinkSyscalls.MSG_DONTWAIT, null);
        }

        if (received < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            if (errno == NetlinkSyscalls.EAGAIN)
            {
                errno = 0;
                return 0;
            }

            return -1;
        }

        errno = 0;
        for (var i = 0; i < received; i++)
        {
            lengths[i] = (headers[i].Flags & NetlinkSyscalls.MSG_TRUNC) != 0 ? slotSize + 1 : (int)headers[i].Length;
            senderPortIds[i] = names[i].PortId;
        }

        return received;
    }

    /// <summary>Sends a control message to the kernel (port 0); returns 0 or the errno.</summary>
    public int Send(ReadOnlySpan<byte> message) => SendTo(message, 0);

    /// <summary>Sends to a netlink port: 0 is the kernel; tests use other ports to forge messages.</summary>
    internal int SendTo(ReadOnlySpan<byte> message, uint portId)
    {
        var kernel = new NetlinkSyscalls.SockAddrNetlink { Family = NetlinkSyscalls.AF_NETLINK, PortId = portId };
        nint n;
        fixed (byte* p = message)
        {
            n = NetlinkSyscalls.SendTo(_fd, p, message.Length, 0, &kernel, sizeof(NetlinkSyscalls.SockAddrNetlink));
        }

        return n < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            NetlinkSyscalls.Close(fd);
        }
    }
}
