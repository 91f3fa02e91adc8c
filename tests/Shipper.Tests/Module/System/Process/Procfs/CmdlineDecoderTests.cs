using Shipper.Module.System.Process.Procfs;

namespace Shipper.Tests.Module.System.Process.Procfs;

public class CmdlineDecoderTests
{
    [Fact]
    public void EmptyContentIsAZombieWithNoArguments() => Assert.Empty(CmdlineDecoder.Decode([]));

    [Fact]
    public void SplitsOnNulAndDropsTheFinalTerminator() =>
        Assert.Equal(new[] { "/bin/true", "--x", "a b" }, CmdlineDecoder.Decode("/bin/true\0--x\0a b\0"u8));

    [Fact]
    public void KeepsRealEmptyArguments() =>
        Assert.Equal(new[] { "prog", "", "x", "" }, CmdlineDecoder.Decode("prog\0\0x\0\0"u8));

    [Fact]
    public void ASingleEmptyArgumentIsKept() => Assert.Equal(new[] { "" }, CmdlineDecoder.Decode("\0"u8));

    [Fact]
    public void RewrittenArgvWithoutTerminatorKeepsTheLastPiece() =>
        Assert.Equal(new[] { "nginx: worker", "process" }, CmdlineDecoder.Decode("nginx: worker\0process"u8));

    [Fact]
    public void InvalidUtf8BecomesReplacementCharacters()
    {
        var args = CmdlineDecoder.Decode([0x61, 0xff, 0xfe, 0x00, 0xc3, 0x00, 0xc3, 0xa9, 0x00]);
        Assert.Equal(new[] { "a\uFFFD\uFFFD", "\uFFFD", "é" }, args);
    }
}
