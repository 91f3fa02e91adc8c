using global::System.Text;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Tests.Module.System.Process.Procfs;

public class ProcStatusParserTests
{
    [Fact]
    public void ParsesOurOwnStatus()
    {
        Assert.True(ProcStatusParser.TryParse(File.ReadAllBytes("/proc/self/status"), out var status));
        Assert.Equal(Shipper.Tests.Support.TestEnvironment.GetEuid(), status.EffectiveUid);
        Assert.True(status.HasCapabilities);
        if (Shipper.Tests.Support.TestEnvironment.GetEuid() == 0)
        {
            Assert.NotEqual(0ul, status.CapEffective);
        }
    }

    [Fact]
    public void ParsesAllFourIdsAndHexCapabilities()
    {
        var text = "Name:\tfoo\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1001\t1002\t1003\nGid:\t2000\t2001\t2002\t2003\n" +
                   "CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000200000\nCapBnd:\t000001ffffffffff\n";
        Assert.True(ProcStatusParser.TryParse(Encoding.ASCII.GetBytes(text), out var s));
        Assert.Equal(new uint[] { 1000, 1001, 1002, 1003 }, s.UidArray());
        Assert.Equal(new uint[] { 2000, 2001, 2002, 2003 }, s.GidArray());
        Assert.Equal(0x1ffffffffffUL, s.CapPermitted);
        Assert.Equal(0x200000UL, s.CapEffective);
        Assert.True(s.HasCapabilities);
    }

    [Fact]
    public void AnEscapedNameCannotForgeAUidLine()
    {
        // The kernel escapes a newline in Name as the two characters '\' 'n'.
        var text = "Name:\tevil\\nUid:\t0\t0\t0\t0\nUid:\t1000\t1000\t1000\t1000\nGid:\t1\t1\t1\t1\n";
        Assert.True(ProcStatusParser.TryParse(Encoding.ASCII.GetBytes(text), out var s));
        Assert.Equal(1000u, s.RealUid);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Uid:\t0\t0\t0\t0\n")]
    [InlineData("Gid:\t0\t0\t0\t0\n")]
    [InlineData("Uid:\t0\t0\t0\nGid:\t0\t0\t0\t0\n")]
    [InlineData("Uid:\t0\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n")]
    [InlineData("Uid:\t0\tx\t0\t0\nGid:\t0\t0\t0\t0\n")]
    [InlineData("Uid:\t-1\t0\t0\t0\nGid:\t0\t0\t0\t0\n")]
    [InlineData("Uid:\t99999999999\t0\t0\t0\nGid:\t0\t0\t0\t0\n")]
    public void MissingOrMalformedIdsAreRejected(string text) =>
        Assert.False(ProcStatusParser.TryParse(Encoding.ASCII.GetBytes(text), out _));

    [Fact]
    public void MalformedCapabilitiesAreReportedAsMissing()
    {
        var text = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapPrm:\tzz\nCapEff:\t0\n";
        Assert.True(ProcStatusParser.TryParse(Encoding.ASCII.GetBytes(text), out var s));
        Assert.False(s.HasCapabilities);
    }
}
