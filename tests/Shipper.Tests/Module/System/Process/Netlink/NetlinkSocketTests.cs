using Shipper.Module.System.Process.Netlink;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Netlink;

public class NetlinkSocketTests
{
    [KernelFact]
    public void ReceivesManyQueuedDatagramsInOneCallWithTheirLengthsAndSenders()
    {
        using var receiver = NetlinkSocket.Open();
        using var sender = NetlinkSocket.Open();
        const int Slot = 128;
        var buffer = new byte[Slot * 4];
        var lengths = new int[4];
        var senders = new uint[4];

        Assert.Equal(0, receiver.ReceiveMany(buffer, Slot, lengths, senders, out var errno));
        Assert.Equal(0, errno);

        var sizes = new[] { 20, 76, 200 }; // the last one does not fit a slot
        foreach (var size in sizes)
        {
            var datagram = new byte[size];
            datagram.AsSpan().Fill((byte)size);
            Assert.Equal(0, sender.SendTo(datagram, receiver.PortId));
        }

        var count = receiver.ReceiveMany(buffer, Slot, lengths, senders, out errno);
        Assert.Equal(3, count);
        Assert.Equal(new[] { 20, 76 }, lengths[..2]);
        Assert.True(lengths[2] > Slot); // cut: reported as longer than the slot
        Assert.All(senders[..3], port => Assert.Equal(sender.PortId, port));
        Assert.True(buffer.AsSpan(0, 20).IndexOfAnyExcept((byte)20) < 0);
        Assert.True(buffer.AsSpan(Slot, 76).IndexOfAnyExcept((byte)76) < 0);

        Assert.Equal(0, receiver.ReceiveMany(buffer, Slot, lengths, senders, out _));
    }
}
