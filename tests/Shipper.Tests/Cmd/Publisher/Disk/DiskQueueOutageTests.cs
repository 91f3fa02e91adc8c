using System.Globalization;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// An Elasticsearch outage with <c>queue.disk</c> (see <see cref="OutageRun"/>): the worker's memory stays flat
/// while the queue grows on disk, and everything is delivered once the server is up. A 30 s outage here; the
/// real ten minutes is a benchmark (<c>tests/bench/disk-queue-outage.sh</c>).
/// </summary>
[Collection(DiskQueueEndToEndCollection.Name)]
public sealed class DiskQueueOutageTests
{
    /// <summary>Set to the outage's length in seconds to run the benchmark (600 for the real ten minutes).</summary>
    public const string BenchmarkVariable = "SHIPPER_BENCH_DISK_QUEUE_OUTAGE_SECONDS";

    private const int PerSecond = 100;

    private readonly ITestOutputHelper _output;

    public DiskQueueOutageTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [KernelFact]
    public async Task DuringAnOutageTheWorkersMemoryStaysFlatWhileTheQueueGrowsAndEverythingIsDeliveredAfter()
    {
        // Measured: RSS rises about 35 MiB in the first 30 s and 15 MiB more over the next nine minutes while the
        // live managed heap stays at 5-14 MB (20,000 objects, with 42,000 events queued: dotnet-gcdump), so the
        // rise is the runtime and the GC settling their budgets, not events kept in memory. With a 10 s warm-up
        // the two windows came 9-10 MiB apart (15 MiB once, with other test suites loading the machine), short of
        // the 20 MiB allowed.
        var run = new OutageRun(_output, warmUp: TimeSpan.FromSeconds(10), window: TimeSpan.FromSeconds(10));
        var result = await run.RunAsync(TimeSpan.FromSeconds(30), PerSecond, "64MiB", printEvery: TimeSpan.FromSeconds(5), delivery: TimeSpan.FromSeconds(60), echoLog: false);
        AssertOutcome(run, result);
    }

    [BenchmarkFact(BenchmarkVariable)]
    public async Task Benchmark()
    {
        var seconds = int.Parse(Environment.GetEnvironmentVariable(BenchmarkVariable)!, CultureInfo.InvariantCulture);
        var run = new OutageRun(_output, warmUp: TimeSpan.FromSeconds(60), window: TimeSpan.FromSeconds(60));
        var result = await run.RunAsync(TimeSpan.FromSeconds(seconds), PerSecond, "4GiB", printEvery: TimeSpan.FromSeconds(10), delivery: TimeSpan.FromMinutes(10), echoLog: false);
        AssertOutcome(run, result);
    }

    private static void AssertOutcome(OutageRun run, OutageResult result)
    {
        Assert.True(result.AllDelivered, $"{result.Markers - result.Indexed} of {result.Markers} markers were never indexed, e.g. {result.Missing}");
        Assert.Equal(1, result.Workers);
        Assert.True(run.LateMaxRss() <= run.EarlyMaxRss() + OutageRun.AllowedGrowth, run.DescribeRss());
        Assert.True(run.FinalQueueBytes() > 2 * run.QueueBytesAfterWarmUp(), run.DescribeRss());
        Assert.Equal(0, result.UndeliveredLive);
        Assert.Equal(0, result.UndeliveredAtExit);
        Assert.Equal(0, result.ServerErrors);
    }
}
