using Shipper.Module.System.Process.Netlink;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Netlink;

public class NetlinkSocketTests
{
    [KernelFact]
    public void ReceivesManyQueuedDatagramsInOneCallWithTheirLengthsAndSenders()
    {
        // The receiver is in the proc connector group, so the kernel's own events (of other tests' processes) may
        // be queued too: only the sender's datagrams are checked.
        using var receiver = NetlinkSocket.Open();
        using var sender = NetlinkSocket.Open();
        const int Slot = 128;
        const int Slots = 16;
        var buffer = new byte[Slot * Slots];
        var lengths = new int[Slots];
        var senders = new uint[Slots];
        while (receiver.ReceiveMany(buffer, Slot, lengths, senders, out _) > 0)
        {
        }

        var sizes = new[] { 20, 76, 200 }; // the last one does not fit a slot
        foreach (var size in sizes)
        {
            var datagram = new byte[size];
            datagram.AsSpan().Fill((byte)size);
            Assert.Equal(0, sender.SendTo(datagram, receiver.PortId));
        }

        var ours = new List<(int Length, byte Content, bool Intact)>();
        var first = receiver.ReceiveMany(buffer, Slot, lengths, senders, out var errno);
        Assert.True(first >= 3, $"first call took {first} datagrams (errno {errno}); all three were queued"); // one call, several datagrams
        var count = first;
        for (var call = 0; call < 100 && ours.Count < 3; call++)
        {
            for (var i = 0; i < count; i++)
            {
                if (senders[i] == sender.PortId)
                {
                    var content = buffer[i * Slot];
                    var intact = buffer.AsSpan(i * Slot, Math.Min(lengths[i], Slot)).IndexOfAnyExcept(content) < 0;
                    ours.Add((lengths[i], content, intact));
                }
            }

            count = receiver.ReceiveMany(buffer, Slot, lengths, senders, out _);
        }

        Assert.Equal(3, ours.Count);
        Assert.Equal((20, (byte)20, true), ours[0]);
        Assert.Equal((76, (byte)76, true), ours[1]);
        Assert.True(ours[2].Length > Slot && ours[2].Content == 200 && ours[2].Intact); // cut: reported as longer than the slot
    }
}
