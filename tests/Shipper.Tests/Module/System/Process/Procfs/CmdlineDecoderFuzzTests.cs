using global::System.Text;
using CsCheck;
using Shipper.Module.System.Process.Procfs;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Module.System.Process.Procfs;

/// <summary>
/// Fuzzes the cmdline decoder against the obvious reference (drop one trailing NUL, split on NUL): arguments
/// as execve lays them out, and raw bytes as a process that rewrote its argv leaves them.
/// </summary>
public class CmdlineDecoderFuzzTests(ITestOutputHelper output)
{
    private static readonly Gen<byte[]> Arguments = Gen.Frequency<byte[]>(
        (3, Gen.Byte[1, 255].Array[0, 12]),
        (2, Gen.OneOf("a= -\"'\\\n\xC3\xA9".Select(c => (byte)c).Concat(new byte[] { 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0xED, 0xA0, 0x80, 0xFF }).ToArray()).Array[0, 12]),
        (1, Gen.Byte[1, 255].Array[100, 2000]));

    [Fact]
    public void ArgumentsAsExecveWritesThemComeBackOneForOne()
    {
        FuzzBudget.Run(output, "cmdline argv", Arguments.Array[0, 40], args =>
        {
            var content = args.SelectMany(a => a.Append((byte)0)).ToArray();
            Assert.Equal(args.Select(a => Encoding.UTF8.GetString(a)).ToArray(), CmdlineDecoder.Decode(content));
        }, args => string.Join(" ", args.Select(FuzzBudget.Escaped)));
    }

    [Fact]
    public void AnyBytesDecodeAsSplittingOnNulDoes()
    {
        var gen = Gen.Frequency<byte[]>(
            (2, Gen.Byte.Array[0, 200]),
            (2, Gen.OneOf((byte)0, (byte)'a', (byte)0xC3, (byte)0xA9, (byte)0xFF).Array[0, 200]),
            (1, Gen.Select(Arguments.Array[0, 20], ByteMutation.Edits(6),
                (args, edits) => ByteMutation.Apply(args.SelectMany(a => a.Append((byte)0)).ToArray(), edits, [[0], [0, 0]]))));
        FuzzBudget.Run(output, "cmdline bytes", gen, content =>
        {
            string[] args = [];
            var allocated = FuzzBudget.Allocated(() => args = CmdlineDecoder.Decode(content));
            Assert.Equal(Reference(content), args);

            // One array slot per argument plus the strings: linear in the input, whatever its shape.
            Assert.True(allocated <= 4096 + (40L * content.Length), $"{allocated} bytes allocated for {content.Length} bytes of cmdline");
        }, FuzzBudget.Escaped);
    }

    private static string[] Reference(byte[] content)
    {
        if (content.Length == 0)
        {
            return [];
        }

        var text = content[^1] == 0 ? content[..^1] : content;
        var parts = new List<string>();
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || text[i] == 0)
            {
                parts.Add(Encoding.UTF8.GetString(text, start, i - start));
                start = i + 1;
            }
        }

        return parts.ToArray();
    }
}
