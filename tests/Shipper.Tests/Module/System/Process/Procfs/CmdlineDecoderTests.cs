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

    [Fact]
    public void ACutCommandLineKeepsThePartOfItsLastArgumentWithoutAHalfCharacter()
    {
        // "é" is C3 A9, "€" E2 82 AC: a cut after C3, or after E2 82, leaves no U+FFFD behind.
        Assert.Equal(new[] { "prog", "ab" }, CmdlineDecoder.DecodeTruncated([.. "prog\0ab"u8, 0xc3]));
        Assert.Equal(new[] { "prog", "ab" }, CmdlineDecoder.DecodeTruncated([.. "prog\0ab"u8, 0xe2, 0x82]));
        Assert.Equal(new[] { "prog", "ab€" }, CmdlineDecoder.DecodeTruncated([.. "prog\0ab"u8, 0xe2, 0x82, 0xac]));
        Assert.Equal(new[] { "prog", "x" }, CmdlineDecoder.DecodeTruncated("prog\0x\0"u8));
        Assert.Equal(new[] { "prog" }, CmdlineDecoder.DecodeTruncated([.. "prog\0"u8, 0xc3]));
    }
}
