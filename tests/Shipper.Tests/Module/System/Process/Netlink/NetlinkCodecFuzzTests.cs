using CsCheck;
using Shipper.Module.System.Process.Netlink;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Module.System.Process.Netlink;

/// <summary>
/// Fuzzes the proc connector decoder the way the reader thread drives it: call <see cref="NetlinkCodec.DecodeNext"/>
/// until <see cref="NetlinkDecodeStatus.End"/>. Generated datagrams must decode message for message to what was
/// written; edited ones must still end, each call moving forward, without throwing or allocating.
/// </summary>
public class NetlinkCodecFuzzTests(ITestOutputHelper output)
{
    private static readonly byte[][] Tokens =
    [
        [0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff], [16, 0, 0, 0], [17, 0, 0, 0], [3, 0], [2, 0], [1, 0, 0, 0], [0x24, 0],
        [0, 0, 0, 0x80], [0x7f, 0xff, 0xff, 0xff],
    ];

    /// <summary>A datagram: messages, then perhaps a tail that cannot be a message (a few stray bytes, or a header claiming more than is left).</summary>
    private static readonly Gen<(NetlinkPart[] Parts, int Tail)> Datagrams = Gen.Select(NetlinkPart.Any.Array[0, 8], Gen.Frequency<int>((3, Gen.Const(0)), (1, Gen.Int[1, 40])));

    [Fact]
    public void GeneratedDatagramsDecodeToWhatWasWritten()
    {
        FuzzBudget.Run(output, "netlink generated", Datagrams, datagram =>
        {
            var bytes = Render(datagram.Parts, datagram.Tail);
            ReadOnlySpan<byte> rest = bytes;
            foreach (var part in datagram.Parts)
            {
                var (status, message) = part.Expected();
                Assert.Equal(status, NetlinkCodec.DecodeNext(ref rest, out var decoded));
                if (status is NetlinkDecodeStatus.Message or NetlinkDecodeStatus.Error)
                {
                    Assert.Equal(message, decoded);
                }
            }

            if (datagram.Tail > 0)
            {
                Assert.Equal(NetlinkDecodeStatus.Malformed, NetlinkCodec.DecodeNext(ref rest, out _));
            }

            Assert.Equal(NetlinkDecodeStatus.End, NetlinkCodec.DecodeNext(ref rest, out _));
        }, d => $"{string.Join(" | ", d.Parts.Select(p => p.ToString()))} tail {d.Tail}: {FuzzBudget.Hex(Render(d.Parts, d.Tail))}");
    }

    [Fact]
    public void EditedDatagramsEndWithoutThrowingOrAllocating()
    {
        var gen = Gen.Frequency<byte[]>(
            (3, Gen.Select(Datagrams, ByteMutation.Edits(6), (d, edits) => ByteMutation.Apply(Render(d.Parts, d.Tail), edits, Tokens))),
            (1, Gen.Byte.Array[0, 200]));
        FuzzBudget.Run(output, "netlink edited", gen, bytes =>
        {
            var calls = 0;
            var allocated = FuzzBudget.Allocated(() =>
            {
                calls = 0;
                ReadOnlySpan<byte> rest = bytes;
                while (true)
                {
                    var before = rest.Length;
                    var status = NetlinkCodec.DecodeNext(ref rest, out _);
                    calls++;
                    if (status == NetlinkDecodeStatus.End)
                    {
                        // Plain comparisons in here: xunit's Assert.Equal allocates a comparer.
                        if (before != 0)
                        {
                            Assert.Fail($"End with {before} bytes left");
                        }

                        break;
                    }

                    // Every answer but End consumes at least one header: the reader's loop always ends.
                    if (rest.Length > before - Math.Min(before, NetlinkCodec.NetlinkHeaderSize))
                    {
                        Assert.Fail($"no progress at offset {bytes.Length - before}");
                    }
                }
            });
            Assert.Equal(0, allocated);
            Assert.True(calls <= (bytes.Length / NetlinkCodec.NetlinkHeaderSize) + 2);
        }, FuzzBudget.Hex);
    }

    private static byte[] Render(NetlinkPart[] parts, int tail)
    {
        var bytes = parts.SelectMany(p => p.Render()).ToList();
        if (tail is > 0 and < NetlinkCodec.NetlinkHeaderSize)
        {
            bytes.AddRange(Enumerable.Repeat((byte)0xAB, tail));
        }
        else if (tail >= NetlinkCodec.NetlinkHeaderSize)
        {
            // A header whose length runs past the datagram's end.
            bytes.AddRange(BitConverter.GetBytes((uint)(tail + 1)));
            bytes.AddRange(new byte[12]);
        }

        return bytes.ToArray();
    }
}
