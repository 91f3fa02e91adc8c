using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Shipper.Events;

/// <summary>
/// One rtnetlink dump request (RTM_GETLINK or RTM_GETADDR) and its replies, straight from libc: .NET's Socket
/// has no AF_NETLINK address type, and NetworkInterface loses what the host fields need (hardware addresses
/// longer than 8 bytes, the ARP hardware type that tells a tunnel's IP-shaped address from a MAC). Used once
/// per host re-read, from one thread at a time; each dump opens and closes its own socket.
/// </summary>
internal static unsafe partial class RouteNetlink
{
    public const ushort RTM_NEWLINK = 16;
    public const ushort RTM_GETLINK = 18;
    public const ushort RTM_NEWADDR = 20;
    public const ushort RTM_GETADDR = 22;

    private const int AF_NETLINK = 16;
    private const int SOCK_RAW = 3;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int NETLINK_ROUTE = 0;
    private const int SOL_SOCKET = 1;
    private const int SO_RCVTIMEO = 20;
    private const int EINTR = 4;
    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const ushort NLM_F_REQUEST = 0x1;
    private const ushort NLM_F_DUMP = 0x300;
    private const int HeaderLength = 16;

    /// <summary>The payload of each reply of type <paramref name="replyType"/> (the message after its 16-byte header).</summary>
    public delegate void PayloadHandler(ReadOnlySpan<byte> payload);

    /// <summary>
    /// Sends a dump request of <paramref name="requestType"/> for every address family and hands each reply
    /// of <paramref name="replyType"/> to <paramref name="onReply"/>. Throws IOException when the kernel
    /// refuses or the socket fails, naming the call.
    /// </summary>
    public static void Dump(ushort requestType, ushort replyType, PayloadHandler onReply)
    {
        var fd = Socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
        {
            throw Failure("socket(AF_NETLINK, NETLINK_ROUTE)");
        }

        try
        {
            // The kernel answers a dump at once; the timeout only keeps a broken kernel from hanging the caller.
            var timeout = stackalloc long[2] { 5, 0 };
            SetSockOpt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, 16);

            // nlmsghdr + ifinfomsg (16 bytes) for links, nlmsghdr + ifaddrmsg (8 bytes) for addresses; both
            // zeroed ask for every family and every interface.
            var bodyLength = requestType == RTM_GETLINK ? 16 : 8;
            var request = stackalloc byte[HeaderLength + 16];
            new Span<byte>(request, HeaderLength + 16).Clear();
            var span = new Span<byte>(request, HeaderLength + bodyLength);
            BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)span.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(span[4..], requestType);
            BinaryPrimitives.WriteUInt16LittleEndian(span[6..], NLM_F_REQUEST | NLM_F_DUMP);
            BinaryPrimitives.WriteUInt32LittleEndian(span[8..], 1);
            var address = stackalloc ushort[6]; // struct sockaddr_nl: family, pad, pid 0 (the kernel), groups 0
            new Span<ushort>(address, 6).Clear();
            address[0] = AF_NETLINK;
            if (SendTo(fd, request, span.Length, 0, address, 12) < 0)
            {
                throw Failure("sendto(NETLINK_ROUTE)");
            }

            var buffer = new byte[64 * 1024];
            while (true)
            {
                nint received;
                fixed (byte* p = buffer)
                {
                    received = Recv(fd, p, buffer.Length, 0);
                }

                if (received < 0)
                {
                    if (Marshal.GetLastPInvokeError() == EINTR)
                    {
                        continue;
                    }

                    throw Failure("recv(NETLINK_ROUTE)");
                }

                if (received == 0)
                {
                    throw new IOException("the rtnetlink dump ended without NLMSG_DONE");
                }

                var data = buffer.AsSpan(0, (int)received);
                while (data.Length >= HeaderLength)
                {
                    var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
                    if (length < HeaderLength || length > data.Length)
                    {
                        throw new IOException($"the kernel sent an rtnetlink message of {length} bytes in a reply of {data.Length}");
                    }

                    var type = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
                    if (type == NLMSG_DONE)
                    {
                        return;
                    }

                    if (type == NLMSG_ERROR)
                    {
                        var errno = length >= HeaderLength + 4 ? -BinaryPrimitives.ReadInt32LittleEndian(data[HeaderLength..]) : 0;
                        throw new IOException($"the kernel refused the rtnetlink dump: {Marshal.GetPInvokeErrorMessage(errno)}");
                    }

                    if (type == replyType)
                    {
                        onReply(data[HeaderLength..length]);
                    }

                    data = data[Math.Min(Align(length), data.Length)..];
                }
            }
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>Calls <paramref name="onAttribute"/> for each rtattr (type, value) in <paramref name="attributes"/>.</summary>
    public static void ForEachAttribute(ReadOnlySpan<byte> attributes, AttributeHandler onAttribute)
    {
        while (attributes.Length >= 4)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
            if (length < 4 || length > attributes.Length)
            {
                return; // a truncated attribute ends the list, as the kernel's own parser does
            }

            onAttribute(BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]), attributes[4..length]);
            attributes = attributes[Math.Min(Align(length), attributes.Length)..];
        }
    }

    public delegate void AttributeHandler(ushort type, ReadOnlySpan<byte> value);

    private static int Align(int length) => (length + 3) & ~3;

    private static IOException Failure(string call) =>
        new($"{call} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    private static partial nint SendTo(int fd, byte* buffer, nint length, int flags, void* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
