using CsCheck;
using Shipper.Module.System.Process.Procfs;
using Shipper.Tests.Support;
using Shipper.Watchdog;
using Xunit.Abstractions;

namespace Shipper.Tests.Module.System.Process.Procfs;

/// <summary>
/// Fuzzes the status parser (ids and capabilities) and the watchdog's VmRSS reader: whole status files as the
/// kernel writes them must give exactly the values written; edits of them must give true or false, never throw,
/// and never allocate.
/// </summary>
public class ProcStatusParserFuzzTests(ITestOutputHelper output)
{
    private static readonly byte[][] Tokens =
    [
        "\n"u8.ToArray(), "\t"u8.ToArray(), " "u8.ToArray(), "Uid:"u8.ToArray(), "Gid:"u8.ToArray(), "CapEff:"u8.ToArray(),
        "CapPrm:"u8.ToArray(), "VmRSS:"u8.ToArray(), " kB"u8.ToArray(), "4294967296"u8.ToArray(), "-1"u8.ToArray(),
        "ffffffffffffffffff"u8.ToArray(), "9223372036854775807"u8.ToArray(), "\0"u8.ToArray(),
    ];

    [Fact]
    public void WellFormedFilesParseToTheValuesWritten()
    {
        FuzzBudget.Run(output, "status well-formed", ProcStatusFile.Any, file =>
        {
            var content = file.Render();
            Assert.True(ProcStatusParser.TryParse(content, out var status));
            Assert.Equal(file.Uids, status.UidArray());
            Assert.Equal(file.Gids, status.GidArray());
            Assert.True(status.HasCapabilities);
            Assert.Equal(file.CapPermitted, status.CapPermitted);
            Assert.Equal(file.CapEffective, status.CapEffective);

            // A resident size too large to count in bytes is refused rather than wrapped to a negative number.
            var fits = !file.Kernel && file.RssKib <= long.MaxValue / 1024;
            Assert.Equal(fits, ProcfsUsageReader.TryParseStatusRssBytes(content, out var rss));
            if (fits)
            {
                Assert.Equal(file.RssKib * 1024, rss);
            }
            else
            {
                Assert.Equal(0, rss);
            }
        }, file => file.ToString());
    }

    [Fact]
    public void EditedFilesAreAcceptedOrRefusedWithoutAllocating()
    {
        var gen = Gen.Select(ProcStatusFile.Any, ByteMutation.Edits(8), (file, edits) => ByteMutation.Apply(file.Render(), edits, Tokens));
        FuzzBudget.Run(output, "status edited", gen, content =>
        {
            var allocated = FuzzBudget.Allocated(() =>
            {
                ProcStatusParser.TryParse(content, out _);
                if (ProcfsUsageReader.TryParseStatusRssBytes(content, out var rss) && rss < 0)
                {
                    Assert.Fail($"VmRSS read as {rss} bytes");
                }
            });
            Assert.Equal(0, allocated);
        }, FuzzBudget.Escaped);
    }
}
