using System.Diagnostics;
using System.Text;
using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class ProcfsUsageReaderTests
{
    [Fact]
    public void StatCpuTimeIsCountedFromTheLastParenthesis()
    {
        // A command name with spaces and parentheses must not shift the fields.
        var stat = "4242 (evil) 1 2 (x) R 1 4242 4242 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 12345 1000 200 18446744073709551615\n"u8;
        Assert.True(ProcfsUsageReader.TryParseStatCpuTicks(stat, out var ticks));
        Assert.Equal(287, ticks);
    }

    [Theory]
    [InlineData("4242 no parenthesis R 1")]
    [InlineData("4242 (short) R 1 2 3")]
    [InlineData("4242 (bad) R 1 4242 4242 0 -1 4194560 100 0 0 0 x9 37 0")]
    [InlineData("")]
    public void MalformedStatIsRejected(string stat)
    {
        Assert.False(ProcfsUsageReader.TryParseStatCpuTicks(Encoding.ASCII.GetBytes(stat), out _));
    }

    [Theory]
    [InlineData("9223372036854775807", "1239")] // found by the stat fuzzer: the sum wrapped to a negative CPU time
    [InlineData("93659", "9223372036854775808")]
    [InlineData("922337203686", "0")] // fits a long, but not a TimeSpan once turned into 100 ns ticks
    public void ACpuTimeNoProcessCanHaveIsRefusedNotWrapped(string utime, string stime)
    {
        var stat = Encoding.ASCII.GetBytes($"4468 (x) R 1 2 3 0 -1 0 11 12 13 14 {utime} {stime} 0 0 20 0 1 0 659075\n");
        Assert.False(ProcfsUsageReader.TryParseStatCpuTicks(stat, out var ticks));
        Assert.Equal(0, ticks);
    }

    [Fact]
    public void AResidentSizeTooLargeToCountInBytesIsRefusedNotWrapped()
    {
        // Found by the status fuzzer: 3019597610405747171 kB read as -6985051327719568384 bytes.
        Assert.False(ProcfsUsageReader.TryParseStatusRssBytes("VmRSS:\t3019597610405747171 kB\n"u8, out _));
        Assert.True(ProcfsUsageReader.TryParseStatusRssBytes("VmRSS:\t9007199254740991 kB\n"u8, out var bytes));
        Assert.Equal(9007199254740991L * 1024, bytes);
    }

    [Fact]
    public void StatusResidentSetIsInBytes()
    {
        var status = "Name:\tshipper\nVmPeak:\t  999 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 1 kB\n"u8;
        Assert.True(ProcfsUsageReader.TryParseStatusRssBytes(status, out var bytes));
        Assert.Equal(12345L * 1024, bytes);
    }

    [Theory]
    [InlineData("Name:\tzombie\nState:\tZ (zombie)\n")]
    [InlineData("VmRSS:\t12 MB\n")]
    [InlineData("VmRSS:\tmany kB\n")]
    public void StatusWithoutAUsableResidentSetIsRejected(string status)
    {
        Assert.False(ProcfsUsageReader.TryParseStatusRssBytes(Encoding.ASCII.GetBytes(status), out _));
    }

    [Fact]
    public void ReadsARealProcessAndSeesItsCpuTimeGrow()
    {
        var reader = new ProcfsUsageReader();
        var before = reader.ReadSelf();
        Assert.True(before.ResidentBytes > 1024 * 1024);
        var stopwatch = Stopwatch.StartNew();
        var x = 1.0;
        while (stopwatch.ElapsedMilliseconds < 100)
        {
            x = Math.Sqrt(x + 1);
        }

        var after = reader.ReadSelf();
        Assert.True(after.CpuTime > before.CpuTime, $"cpu {before.CpuTime} -> {after.CpuTime} ({x})");
    }

    [Fact]
    public void AProcessThatIsGoneReadsAsFalse()
    {
        using var child = Process.Start("true")!;
        child.WaitForExit();
        var pid = child.Id;
        child.Dispose();
        Assert.False(new ProcfsUsageReader().TryRead(pid, out _));
        Assert.False(new ProcfsUsageReader().TryRead(int.MaxValue, out _));
    }
}
