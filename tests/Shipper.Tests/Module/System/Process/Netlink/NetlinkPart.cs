using global::System.Runtime.InteropServices;
using CsCheck;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Netlink;

namespace Shipper.Tests.Module.System.Process.Netlink;

/// <summary>
/// One netlink message of a generated datagram, with what decoding it must give. Most are proc connector events
/// of every type (and types newer than the code), laid out as the kernel does; the rest are the other netlink
/// message types, another connector's messages, and the ways a length can lie: a union shorter than its type
/// needs, a connector length beyond the message, a body too short for the connector header.
/// </summary>
public sealed record NetlinkPart(NetlinkPartShape Shape, uint What, uint Cpu, ulong Timestamp, uint Sequence, uint Ack, int[] Union, int Extra)
{
    private static readonly uint[] KnownTypes =
    [
        0, (uint)ProcEventType.Fork, (uint)ProcEventType.Exec, (uint)ProcEventType.Uid, (uint)ProcEventType.Gid,
        (uint)ProcEventType.Sid, (uint)ProcEventType.Ptrace, (uint)ProcEventType.Comm, (uint)ProcEventType.Coredump,
        (uint)ProcEventType.Exit,
    ];

    public static readonly Gen<NetlinkPart> Any = CsCheck.Gen.Select(
        CsCheck.Gen.Frequency<NetlinkPartShape>((6, CsCheck.Gen.Const(NetlinkPartShape.Event)), (4, CsCheck.Gen.Enum<NetlinkPartShape>())),
        CsCheck.Gen.Frequency<uint>((5, CsCheck.Gen.OneOf(KnownTypes)), (1, CsCheck.Gen.UInt)),
        CsCheck.Gen.UInt[0, 255], CsCheck.Gen.ULong, CsCheck.Gen.UInt, CsCheck.Gen.UInt,
        CsCheck.Gen.Int.Array[0, 10], CsCheck.Gen.Int[0, 200],
        (shape, what, cpu, ts, seq, ack, union, extra) => new NetlinkPart(shape, what, cpu, ts, seq, ack, union, extra));

    /// <summary>Union bytes the decoder needs for the type: fields later kernels added are optional.</summary>
    public static int NeededInts(uint what) => (ProcEventType)what switch
    {
        ProcEventType.None => 1,
        ProcEventType.Fork or ProcEventType.Exit or ProcEventType.Uid or ProcEventType.Gid or ProcEventType.Ptrace => 4,
        _ => 2,
    };

    /// <summary>The union as written: long enough for the type, except in the short-union shape, where it is one int short.</summary>
    private int[] WrittenUnion()
    {
        var needed = NeededInts(What);
        return Shape == NetlinkPartShape.ShortUnion
            ? Union.Take(needed - 1).Concat(new int[Math.Max(0, needed - 1 - Union.Length)]).ToArray()
            : Union.Concat(new int[Math.Max(0, needed - Union.Length)]).ToArray();
    }

    public byte[] Render()
    {
        switch (Shape)
        {
            case NetlinkPartShape.Noop:
                return Netlink(NetlinkCodec.NLMSG_NOOP, []);
            case NetlinkPartShape.Error:
                // nlmsgerr: a negative errno, then the header of the request it answers.
                return Netlink(NetlinkCodec.NLMSG_ERROR, [.. BitConverter.GetBytes(-Extra), .. new byte[16]]);
            case NetlinkPartShape.Overrun:
                return Netlink(NetlinkCodec.NLMSG_OVERRUN, []);
            case NetlinkPartShape.OtherNetlinkType:
                return Netlink((ushort)(16 + Extra), new byte[Extra % 24]);
            case NetlinkPartShape.ShortConnector:
                return Netlink(NetlinkCodec.NLMSG_DONE, new byte[Extra % NetlinkCodec.ConnectorHeaderSize]);
        }

        var union = WrittenUnion();
        var eventLength = NetlinkCodec.EventHeaderSize + (union.Length * 4);
        var body = new byte[NetlinkCodec.ConnectorHeaderSize + eventLength];
        var cn = body.AsSpan();
        Put(cn, 0, Shape == NetlinkPartShape.OtherConnector ? 2u + (uint)Extra : NetlinkCodec.CN_IDX_PROC);
        Put(cn, 4, NetlinkCodec.CN_VAL_PROC);
        Put(cn, 8, Sequence);
        Put(cn, 12, Ack);
        var claimed = Shape == NetlinkPartShape.LongData ? eventLength + 1 + Extra : eventLength;
        MemoryMarshal.Write(cn[16..], (ushort)claimed);
        var ev = cn[NetlinkCodec.ConnectorHeaderSize..];
        Put(ev, 0, What);
        Put(ev, 4, Cpu);
        MemoryMarshal.Write(ev[8..], Timestamp);
        for (var i = 0; i < union.Length; i++)
        {
            Put(ev, 16 + (i * 4), (uint)union[i]);
        }

        return Netlink(NetlinkCodec.NLMSG_DONE, body);
    }

    /// <summary>What <see cref="NetlinkCodec.DecodeNext"/> must answer for this message.</summary>
    public (NetlinkDecodeStatus Status, ProcConnectorMessage Message) Expected()
    {
        switch (Shape)
        {
            case NetlinkPartShape.Noop or NetlinkPartShape.OtherNetlinkType or NetlinkPartShape.OtherConnector:
                return (NetlinkDecodeStatus.Ignored, default);
            case NetlinkPartShape.Error:
                return (NetlinkDecodeStatus.Error, new ProcConnectorMessage(default, 0, 0, (uint)Extra));
            case NetlinkPartShape.Overrun:
                return (NetlinkDecodeStatus.Overrun, default);
            case NetlinkPartShape.ShortConnector or NetlinkPartShape.ShortUnion or NetlinkPartShape.LongData:
                return (NetlinkDecodeStatus.Malformed, default);
        }

        var u = WrittenUnion();
        var type = (ProcEventType)What;
        var e = type switch
        {
            ProcEventType.None => new ProcConnectorEvent(type, Cpu, Timestamp, 0, 0, 0, 0, 0, 0),
            ProcEventType.Fork => new ProcConnectorEvent(type, Cpu, Timestamp, u[2], u[3], u[0], u[1], 0, 0),
            ProcEventType.Exit => new ProcConnectorEvent(type, Cpu, Timestamp, u[0], u[1],
                u.Length >= 6 ? u[4] : 0, u.Length >= 6 ? u[5] : 0, (uint)u[2], (uint)u[3]),
            _ => new ProcConnectorEvent(type, Cpu, Timestamp, u[0], u[1], 0, 0, 0, 0),
        };
        return (NetlinkDecodeStatus.Message, new ProcConnectorMessage(e, Sequence, Ack, type == ProcEventType.None ? (uint)u[0] : 0));
    }

    /// <summary>nlmsghdr + body, padded to 4 bytes as NLMSG_ALIGN does (nlmsg_len counts the body, not the padding).</summary>
    private byte[] Netlink(ushort type, byte[] body)
    {
        var length = NetlinkCodec.NetlinkHeaderSize + body.Length;
        var bytes = new byte[(length + 3) & ~3];
        Put(bytes, 0, (uint)length);
        MemoryMarshal.Write(bytes.AsSpan(4), type);
        Put(bytes, 8, Sequence);
        body.CopyTo(bytes, NetlinkCodec.NetlinkHeaderSize);
        return bytes;
    }

    private static void Put(Span<byte> span, int offset, uint value) => MemoryMarshal.Write(span[offset..], value);

    public override string ToString() => $"{Shape} what=0x{What:x} union=[{string.Join(",", Union)}] extra={Extra}";
}
