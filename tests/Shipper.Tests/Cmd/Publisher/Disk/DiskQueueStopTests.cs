using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// SIGTERM with <c>queue.disk</c> and an unreachable Elasticsearch, the real binary under its watchdog: the stop
/// does not wait out <c>shipper.shutdown_timeout</c> for an output that cannot deliver (with the memory queue it
/// would, then lose the events); it writes what it accepted, keeps it on disk, says how many, and the next start
/// sends exactly those.
/// </summary>
[Collection(DiskQueueEndToEndCollection.Name)]
public sealed class DiskQueueStopTests : IDisposable
{
    private const int SIGTERM = 15;
    private const int Markers = 200;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _output;
    private readonly DiskQueueShipper _shipper;

    public DiskQueueStopTests(ITestOutputHelper output)
    {
        _output = output;

        // The configuration sets shipper.shutdown_timeout: 10s, which the stop must not wait for.
        _shipper = new DiskQueueShipper("64MiB", "64KiB", bulkMaxSize: 1600);
    }

    public void Dispose() => _shipper.Dispose();

    [KernelFact]
    public async Task SigtermKeepsWhatTheOutputHasNotAcknowledgedOnDiskAtOnceAndTheNextStartSendsIt()
    {
        var first = _shipper.Start(_output);
        _shipper.WaitForWorker(0, Patience);
        var markers = new MarkedProcesses();
        markers.Run(1, Markers);
        _shipper.WaitUntilQueued(markers.Prefix, Markers, Patience);

        var stop = Stopwatch.StartNew();
        first.Signal(SIGTERM);
        Assert.True(first.WaitForExit(TimeSpan.FromSeconds(15)), "the shipper did not exit within 15 s of SIGTERM");
        var took = stop.Elapsed;
        _output.WriteLine($"SIGTERM to exit: {took.TotalSeconds:0.000}s");
        Assert.True(took < TimeSpan.FromSeconds(2), $"the stop took {took.TotalSeconds:0.000}s; with queue.disk it must not wait for the output");
        Assert.Equal(0, first.ExitCode);

        var keptLine = first.Log.WaitFor("events not yet acknowledged by the output stay in the disk queue; the next start sends them", TimeSpan.FromSeconds(1));
        var kept = long.Parse(Regex.Match(keptLine, @"(\d+) events not yet acknowledged").Groups[1].Value, CultureInfo.InvariantCulture);
        var totalsLine = first.Log.WaitFor("Total metrics:", TimeSpan.FromSeconds(1));
        var totals = JsonDocument.Parse(totalsLine[(totalsLine.IndexOf("Total metrics:", StringComparison.Ordinal) + "Total metrics:".Length)..]).RootElement;
        Assert.True(kept >= Markers, $"only {kept} events kept, but {Markers} marked processes were queued");
        Assert.Equal(kept, StatsProbe.Metric(totals, "pipeline.events.kept_in_queue"));
        Assert.Equal(0, StatsProbe.Metric(totals, "pipeline.events.undelivered"));
        Assert.Equal(0, StatsProbe.Metric(totals, "pipeline.events.published"));
        Assert.Contains($"shipper stopped; every event the publisher accepted was delivered or kept; {kept} events stay in the disk queue for the next start", first.Log.Text);

        // The next start, with the server up, sends exactly what was kept (nothing was acknowledged: no event of the
        // first run is skipped or counted twice).
        await using var es = await _shipper.StartElasticsearchAsync();
        var second = _shipper.Start(_output);
        _shipper.WaitForWorker(0, Patience);
        var recoveredLine = second.Log.WaitFor("events from earlier runs to send", Patience);
        var recovered = long.Parse(Regex.Match(recoveredLine, @"(\d+) events from earlier runs to send").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(kept, recovered);

        var delivery = Stopwatch.StartNew();
        var tally = new MarkerTally(markers.Prefix, Markers);
        Assert.True(tally.WaitForAll(es, Patience), $"{Markers - tally.Distinct} of {Markers} markers were not indexed after the restart, e.g. {tally.MissingSample()}");
        _output.WriteLine($"kept {kept}, recovered {recovered}; every marker indexed {delivery.Elapsed.TotalSeconds:0.0}s after the restart's worker was ready; {tally.Duplicates} duplicates, {tally.Splits} processes the dataset reported twice");
        Assert.Equal(0, tally.Duplicates);
        Assert.Empty(es.Errors);
    }
}
