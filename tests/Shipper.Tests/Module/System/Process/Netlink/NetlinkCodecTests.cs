using global::System.Runtime.InteropServices;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Netlink;

namespace Shipper.Tests.Module.System.Process.Netlink;

public class NetlinkCodecTests
{
    [Fact]
    public void DecodesAFork()
    {
        ReadOnlySpan<byte> datagram = ProcConnectorBytes.Fork(parentPid: 100, parentTgid: 99, childPid: 200, childTgid: 200, sequence: 7, cpu: 1);
        Assert.Equal(NetlinkDecodeStatus.Message, NetlinkCodec.DecodeNext(ref datagram, out var m));
        Assert.Equal(new ProcConnectorEvent(ProcEventType.Fork, 1, 1000, 200, 200, 100, 99, 0, 0), m.Event);
        Assert.Equal(7u, m.Sequence);
        Assert.Equal(200, m.Event.ProcessPid);
        Assert.Equal(NetlinkDecodeStatus.End, NetlinkCodec.DecodeNext(ref datagram, out _));
    }

    [Fact]
    public void DecodesExecAndExit()
    {
        ReadOnlySpan<byte> exec = ProcConnectorBytes.Exec(300, 300);
        Assert.Equal(NetlinkDecodeStatus.Message, NetlinkCodec.DecodeNext(ref exec, out var e));
        Assert.Equal(new ProcConnectorEvent(ProcEventType.Exec, 0, 2000, 300, 300, 0, 0, 0, 0), e.Event);

        ReadOnlySpan<byte> exit = ProcConnectorBytes.Exit(300, 300, code: 3 << 8, signal: 17, parentPid: 1, parentTgid: 1);
        Assert.Equal(NetlinkDecodeStatus.Message, NetlinkCodec.DecodeNext(ref exit, out var x));
        Assert.Equal(new ProcConnectorEvent(ProcEventType.Exit, 0, 3000, 300, 300, 1, 1, 3u << 8, 17), x.Event);
    }

    [Fact]
    public void AnExitFromAnOldKernelWithoutParentFieldsStillDecodes()
    {
        ReadOnlySpan<byte> exit = ProcConnectorBytes.Message(0x80000000, 0, 5, 0, 42, 42, 9, 17);
        Assert.Equal(NetlinkDecodeStatus.Message, NetlinkCodec.DecodeNext(ref exit, out var x));
        Assert.Equal(new ProcConnectorEvent(ProcEventType.Exit, 0, 5, 42, 42, 0, 0, 9, 17), x.Event);
    }

    [Fact]
    public void DecodesAnAcknowledgement()
    {
        ReadOnlySpan<byte> ack = ProcConnectorBytes.Message(0, 0, 1, 5, ack: 12346, idx: 1, val: 1, nlType: 3, [22]);
        Assert.Equal(NetlinkDecodeStatus.Message, NetlinkCodec.DecodeNext(ref ack, out var m));
        Assert.Equal(ProcEventType.None, m.Event.Type);
        Assert.Equal(12346u, m.Ack);
        Assert.Equal(22u, m.AckError);
    }

    [Fact]
    public void WalksSeveralMessagesInOneDatagram()
    {
        ReadOnlySpan<byte> datagram = ProcConnectorBytes.Concat(
            ProcConnectorBytes.Fork(1, 1, 2, 2, sequence: 1),
            ProcConnectorBytes.Exec(2, 2, sequence: 2),
            ProcConnectorBytes.Exit(2, 2, 0, 17, 1, 1, sequence: 3));
        var types = new List<ProcEventType>();
        while (NetlinkCodec.DecodeNext(ref datagram, out var m) == NetlinkDecodeStatus.Message)
        {
            types.Add(m.Event.Type);
        }

        Assert.Equal(new[] { ProcEventType.Fork, ProcEventType.Exec, ProcEventType.Exit }, types);
    }

    [Fact]
    public void KeepsUnknownEventTypesForSequenceAccounting()
    {
        ReadOnlySpan<byte> datagram = ProcConnectorBytes.Message(0x400, 3, 1, 99, 5, 5);
        Assert.Equal(NetlinkDecodeStatus.Message, NetlinkCodec.DecodeNext(ref datagram, out var m));
        Assert.Equal((ProcEventType)0x400, m.Event.Type);
        Assert.Equal(99u, m.Sequence);
        Assert.Equal(3u, m.Event.Cpu);
    }

    [Fact]
    public void IgnoresOtherConnectorsAndNoops()
    {
        ReadOnlySpan<byte> other = ProcConnectorBytes.Message(0x2, 0, 0, 0, 0, idx: 7, val: 1, nlType: 3, [1, 1]);
        Assert.Equal(NetlinkDecodeStatus.Ignored, NetlinkCodec.DecodeNext(ref other, out _));

        ReadOnlySpan<byte> noop = ProcConnectorBytes.Message(0x2, 0, 0, 0, 0, idx: 1, val: 1, nlType: 1, [1, 1]);
        Assert.Equal(NetlinkDecodeStatus.Ignored, NetlinkCodec.DecodeNext(ref noop, out _));
    }

    [Fact]
    public void ReportsNetlinkErrorsAndOverruns()
    {
        var error = new byte[36];
        MemoryMarshal.Write(error.AsSpan(0), 36u);
        MemoryMarshal.Write(error.AsSpan(4), (ushort)2);
        MemoryMarshal.Write(error.AsSpan(16), -105);
        ReadOnlySpan<byte> span = error;
        Assert.Equal(NetlinkDecodeStatus.Error, NetlinkCodec.DecodeNext(ref span, out var m));
        Assert.Equal(105u, m.AckError);

        var overrun = new byte[16];
        MemoryMarshal.Write(overrun.AsSpan(0), 16u);
        MemoryMarshal.Write(overrun.AsSpan(4), (ushort)4);
        span = overrun;
        Assert.Equal(NetlinkDecodeStatus.Overrun, NetlinkCodec.DecodeNext(ref span, out _));
    }

    [Fact]
    public void RejectsLengthsThatLie()
    {
        var tooLong = ProcConnectorBytes.Exec(1, 1);
        MemoryMarshal.Write(tooLong.AsSpan(0), (uint)tooLong.Length + 1);
        ReadOnlySpan<byte> span = tooLong;
        Assert.Equal(NetlinkDecodeStatus.Malformed, NetlinkCodec.DecodeNext(ref span, out _));
        Assert.True(span.IsEmpty);

        var tooShort = ProcConnectorBytes.Exec(1, 1);
        MemoryMarshal.Write(tooShort.AsSpan(0), 15u);
        span = tooShort;
        Assert.Equal(NetlinkDecodeStatus.Malformed, NetlinkCodec.DecodeNext(ref span, out _));

        var connectorLies = ProcConnectorBytes.Exec(1, 1);
        MemoryMarshal.Write(connectorLies.AsSpan(16 + 16), (ushort)200);
        span = connectorLies;
        Assert.Equal(NetlinkDecodeStatus.Malformed, NetlinkCodec.DecodeNext(ref span, out _));

        // A fork whose union is cut short: the cn_msg length says 24 (header + 8), fork needs 16 bytes of union.
        var shortFork = ProcConnectorBytes.Message(0x1, 0, 0, 0, 1, 1);
        span = shortFork;
        Assert.Equal(NetlinkDecodeStatus.Malformed, NetlinkCodec.DecodeNext(ref span, out _));
    }

    [Fact]
    public void NoTruncationOfAValidDatagramCrashesOrReadsOutOfBounds()
    {
        var full = ProcConnectorBytes.Concat(ProcConnectorBytes.Fork(1, 1, 2, 2), ProcConnectorBytes.Exit(2, 2, 0, 17, 1, 1));
        for (var length = 0; length <= full.Length; length++)
        {
            // Copy into an exactly sized array so an out-of-range read would throw.
            ReadOnlySpan<byte> span = full.AsSpan(0, length).ToArray();
            var guard = 0;
            while (NetlinkCodec.DecodeNext(ref span, out _) != NetlinkDecodeStatus.End)
            {
                Assert.True(++guard < 10);
            }
        }
    }

    [Fact]
    public void RandomBytesNeverCrashTheDecoder()
    {
        var random = new Random(1234);
        for (var i = 0; i < 5000; i++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            if (bytes.Length >= 4 && random.Next(2) == 0)
            {
                MemoryMarshal.Write(bytes.AsSpan(0), (uint)random.Next(0, bytes.Length + 1)); // plausible lengths too
            }

            ReadOnlySpan<byte> span = bytes;
            var guard = 0;
            while (NetlinkCodec.DecodeNext(ref span, out _) != NetlinkDecodeStatus.End)
            {
                Assert.True(++guard < 100);
            }
        }
    }

    [Fact]
    public void WritesTheClassicAndTheFilteredSubscription()
    {
        var buffer = new byte[64];
        var classic = NetlinkCodec.WriteControl(buffer, NetlinkCodec.PROC_CN_MCAST_LISTEN, null, sequence: 5, ack: 77, portId: 1234);
        Assert.Equal(40, classic);
        Assert.Equal(40u, MemoryMarshal.Read<uint>(buffer.AsSpan(0)));
        Assert.Equal((ushort)3, MemoryMarshal.Read<ushort>(buffer.AsSpan(4)));
        Assert.Equal(1234u, MemoryMarshal.Read<uint>(buffer.AsSpan(12)));
        Assert.Equal(1u, MemoryMarshal.Read<uint>(buffer.AsSpan(16)));
        Assert.Equal(1u, MemoryMarshal.Read<uint>(buffer.AsSpan(20)));
        Assert.Equal(77u, MemoryMarshal.Read<uint>(buffer.AsSpan(28)));
        Assert.Equal((ushort)4, MemoryMarshal.Read<ushort>(buffer.AsSpan(32)));
        Assert.Equal(1u, MemoryMarshal.Read<uint>(buffer.AsSpan(36)));

        var filtered = NetlinkCodec.WriteControl(buffer, NetlinkCodec.PROC_CN_MCAST_LISTEN, NetlinkCodec.WantedEvents, 6, 0, 1234);
        Assert.Equal(44, filtered);
        Assert.Equal((ushort)8, MemoryMarshal.Read<ushort>(buffer.AsSpan(32)));
        Assert.Equal(0x80000247u, MemoryMarshal.Read<uint>(buffer.AsSpan(40)));
    }
}
