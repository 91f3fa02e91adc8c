using global::System.Runtime.InteropServices;

namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// Encodes subscription requests and decodes what the proc connector sends: <c>nlmsghdr</c> (16 bytes) +
/// <c>cn_msg</c> (20 bytes) + <c>proc_event</c>. Everything is bounds-checked against both the datagram and the
/// lengths the headers claim, so a truncated or hostile datagram is reported as
/// <see cref="NetlinkDecodeStatus.Malformed"/>, never read out of range. Values are in host byte order, as the
/// kernel writes them.
/// </summary>
public static class NetlinkCodec
{
    public const int NetlinkHeaderSize = 16;
    public const int ConnectorHeaderSize = 20;
    public const int EventHeaderSize = 16;

    public const ushort NLMSG_NOOP = 1;
    public const ushort NLMSG_ERROR = 2;
    public const ushort NLMSG_DONE = 3;
    public const ushort NLMSG_OVERRUN = 4;

    public const uint CN_IDX_PROC = 1;
    public const uint CN_VAL_PROC = 1;
    public const uint PROC_CN_MCAST_LISTEN = 1;
    public const uint PROC_CN_MCAST_IGNORE = 2;

    /// <summary>PROC_EVENT_ALL of linux/cn_proc.h: a filter equal to it means "no filtering".</summary>
    public const uint AllEvents = 0x1 | 0x2 | 0x4 | 0x40 | 0x80 | 0x100 | 0x200 | 0x20000000 | 0x40000000 | 0x80000000;

    /// <summary>What the shipper needs: lifecycle plus identity and name changes.</summary>
    public const uint WantedEvents = (uint)(ProcEventType.Fork | ProcEventType.Exec | ProcEventType.Exit
        | ProcEventType.Uid | ProcEventType.Gid | ProcEventType.Comm);

    /// <summary>
    /// Writes a subscription control message. With <paramref name="eventFilter"/> null it is the classic
    /// 4-byte <c>enum proc_cn_mcast_op</c> every kernel understands; otherwise the 8-byte
    /// <c>struct proc_input {mcast_op, event_type}</c> that kernels since 6.6 use to filter in the kernel
    /// (older kernels silently ignore a payload of that size). Returns the message length.
    /// </summary>
    public static int WriteControl(Span<byte> buffer, uint operation, uint? eventFilter, uint sequence, uint ack, uint portId)
    {
        var payload = eventFilter is null ? 4 : 8;
        var length = NetlinkHeaderSize + ConnectorHeaderSize + payload;
        if (buffer.Length < length)
        {
            throw new ArgumentException($"control message needs {length} bytes", nameof(buffer));
        }

        buffer[..length].Clear();
        Write(buffer, 0, (uint)length);
        Write16(buffer, 4, NLMSG_DONE);
        Write16(buffer, 6, 0);
        Write(buffer, 8, sequence);
        Write(buffer, 12, portId);
        var cn = buffer[NetlinkHeaderSize..];
        Write(cn, 0, CN_IDX_PROC);
        Write(cn, 4, CN_VAL_PROC);
        Write(cn, 8, sequence);
        Write(cn, 12, ack);
        Write16(cn, 16, (ushort)payload);
        Write(cn, ConnectorHeaderSize, operation);
        if (eventFilter is { } filter)
        {
            Write(cn, ConnectorHeaderSize + 4, filter);
        }

        return length;
    }

    /// <summary>
    /// Decodes the next netlink message of a datagram and advances <paramref name="datagram"/> past it (to the
    /// end when the lengths cannot be trusted any more).
    /// </summary>
    public static NetlinkDecodeStatus DecodeNext(ref ReadOnlySpan<byte> datagram, out ProcConnectorMessage message)
    {
        message = default;
        if (datagram.IsEmpty)
        {
            return NetlinkDecodeStatus.End;
        }

        if (datagram.Length < NetlinkHeaderSize)
        {
            datagram = default;
            return NetlinkDecodeStatus.Malformed;
        }

        var length = Read(datagram, 0);
        var type = Read16(datagram, 4);
        if (length < NetlinkHeaderSize || length > (uint)datagram.Length)
        {
            datagram = default;
            return NetlinkDecodeStatus.Malformed;
        }

        var body = datagram[NetlinkHeaderSize..(int)length];
        var aligned = (int)Math.Min((length + 3) & ~3u, (uint)datagram.Length);
        datagram = datagram[aligned..];

        switch (type)
        {
            case NLMSG_NOOP:
                return NetlinkDecodeStatus.Ignored;
            case NLMSG_ERROR:
                var errno = body.Length >= 4 ? -(int)Read(body, 0) : 0;
                message = new ProcConnectorMessage(default, 0, 0, (uint)errno);
                return NetlinkDecodeStatus.Error;
            case NLMSG_OVERRUN:
                return NetlinkDecodeStatus.Overrun;
            case NLMSG_DONE:
                return DecodeConnector(body, out message);
            default:
                return NetlinkDecodeStatus.Ignored;
        }
    }

    private static NetlinkDecodeStatus DecodeConnector(ReadOnlySpan<byte> body, out ProcConnectorMessage message)
    {
        message = default;
        if (body.Length < ConnectorHeaderSize)
        {
            return NetlinkDecodeStatus.Malformed;
        }

        if (Read(body, 0) != CN_IDX_PROC || Read(body, 4) != CN_VAL_PROC)
        {
            return NetlinkDecodeStatus.Ignored;
        }

        var sequence = Read(body, 8);
        var ack = Read(body, 12);
        var dataLength = Read16(body, 16);
        var data = body[ConnectorHeaderSize..];
        if (dataLength > data.Length || dataLength < EventHeaderSize)
        {
            return NetlinkDecodeStatus.Malformed;
        }

        data = data[..dataLength];
        var what = (ProcEventType)Read(data, 0);
        var cpu = Read(data, 4);
        var timestamp = MemoryMarshal.Read<ulong>(data[8..]);
        var u = data[EventHeaderSize..];

        // Minimum union sizes per type; fields the kernel added later (exit's parent) are optional.
        var needed = what switch
        {
            ProcEventType.None => 4,
            ProcEventType.Fork => 16,
            ProcEventType.Exit => 16,
            ProcEventType.Uid or ProcEventType.Gid or ProcEventType.Ptrace => 16,
            _ => 8, // exec, sid, comm, coredump, and types newer than this code: pid + tgid
        };
        if (u.Length < needed)
        {
            return NetlinkDecodeStatus.Malformed;
        }

        ProcConnectorEvent e;
        uint ackError = 0;
        switch (what)
        {
            case ProcEventType.None:
                ackError = Read(u, 0);
                e = new ProcConnectorEvent(what, cpu, timestamp, 0, 0, 0, 0, 0, 0);
                break;
            case ProcEventType.Fork:
                e = new ProcConnectorEvent(what, cpu, timestamp,
                    Pid: ReadInt(u, 8), Tgid: ReadInt(u, 12), ParentPid: ReadInt(u, 0), ParentTgid: ReadInt(u, 4),
                    ExitCode: 0, ExitSignal: 0);
                break;
            case ProcEventType.Exit:
                e = new ProcConnectorEvent(what, cpu, timestamp,
                    Pid: ReadInt(u, 0), Tgid: ReadInt(u, 4),
                    ParentPid: u.Length >= 24 ? ReadInt(u, 16) : 0, ParentTgid: u.Length >= 24 ? ReadInt(u, 20) : 0,
                    ExitCode: Read(u, 8), ExitSignal: Read(u, 12));
                break;
            default:
                e = new ProcConnectorEvent(what, cpu, timestamp, ReadInt(u, 0), ReadInt(u, 4), 0, 0, 0, 0);
                break;
        }

        message = new ProcConnectorMessage(e, sequence, ack, ackError);
        return NetlinkDecodeStatus.Message;
    }

    private static uint Read(ReadOnlySpan<byte> span, int offset) => MemoryMarshal.Read<uint>(span[offset..]);

    private static int ReadInt(ReadOnlySpan<byte> span, int offset) => MemoryMarshal.Read<int>(span[offset..]);

    private static ushort Read16(ReadOnlySpan<byte> span, int offset) => MemoryMarshal.Read<ushort>(span[offset..]);

    private static void Write(Span<byte> span, int offset, uint value) => MemoryMarshal.Write(span[offset..], in value);

    private static void Write16(Span<byte> span, int offset, ushort value) => MemoryMarshal.Write(span[offset..], in value);
}
