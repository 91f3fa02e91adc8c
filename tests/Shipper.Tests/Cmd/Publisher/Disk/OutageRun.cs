using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Shipper.Tests.Cmd.Watchdog;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// An Elasticsearch outage under a steady load of marked processes, with the real binary (watcher and worker,
/// default watchdog limits) and <c>queue.disk</c>: while the output cannot deliver, the queue grows on disk and
/// the worker's memory must not grow with it; once the server is up, every marker must be indexed and nothing
/// counted undelivered. Samples the worker's RSS (VmRSS) and the queue's metrics once a second.
/// </summary>
public sealed class OutageRun
{
    private const int SIGTERM = 15;

    private readonly ITestOutputHelper _output;
    private readonly List<OutageSample> _samples = new();

    /// <param name="warmUp">Samples before this are the worker warming up (JIT, the GC growing its budgets, the process table filling).</param>
    /// <param name="window">The span of samples compared: the first one after <paramref name="warmUp"/> and the last one.</param>
    public OutageRun(ITestOutputHelper output, TimeSpan warmUp, TimeSpan window)
    {
        _output = output;
        WarmUp = warmUp;
        Window = window;
    }

    /// <summary>RSS more than this above the early maximum counts as growth.</summary>
    public static long AllowedGrowth => 20L * 1024 * 1024;

    public TimeSpan WarmUp { get; }

    public TimeSpan Window { get; }

    public IReadOnlyList<OutageSample> Samples => _samples;

    /// <param name="printEvery">How often a sample is printed (every one is kept).</param>
    /// <param name="delivery">How long the server then gets to index every marker.</param>
    /// <param name="echoLog">Echo the shipper's log lines as they come (a short run) or only print its tail on failure.</param>
    public async Task<OutageResult> RunAsync(TimeSpan duration, int perSecond, string maxSize, TimeSpan printEvery, TimeSpan delivery, bool echoLog)
    {
        using var shipper = new DiskQueueShipper(maxSize, "4MiB", bulkMaxSize: 1600);
        try
        {
            return await RunAsync(shipper, duration, perSecond, printEvery, delivery, echoLog);
        }
        catch (Exception) when (!echoLog && shipper.Started)
        {
            _output.WriteLine("shipper log tail:\n" + string.Join('\n', shipper.Process.Log.Lines.TakeLast(200)));
            throw;
        }
    }

    private async Task<OutageResult> RunAsync(DiskQueueShipper shipper, TimeSpan duration, int perSecond, TimeSpan printEvery, TimeSpan delivery, bool echoLog)
    {
        var clock = Stopwatch.StartNew();
        shipper.Start(echoLog ? _output : null);
        var worker = shipper.WaitForWorker(0, TimeSpan.FromSeconds(30));
        var markers = new MarkedProcesses();
        var lastPrinted = -printEvery;
        var last = markers.RunPaced(1, perSecond, duration, elapsed =>
        {
            var stats = shipper.Stats.Snapshot();
            var sample = new OutageSample(elapsed, DiskQueueShipper.Rss(worker), Metric(stats, "queue.filled.bytes"), Metric(stats, "queue.added.events"));
            _samples.Add(sample);
            if (elapsed - lastPrinted >= printEvery)
            {
                lastPrinted = elapsed;
                _output.WriteLine($"{elapsed.TotalSeconds,6:0}s  worker RSS {Mib(sample.Rss),7:0.0} MiB  queue.filled.bytes {Mib(sample.QueueBytes),8:0.0} MiB  "
                    + $"queue.added.events {sample.Added,8}  process.documents {Metric(stats, "process.documents"),8}  pipeline.queue.blocked {Metric(stats, "pipeline.queue.blocked"),6}  "
                    + $"workers {shipper.Process.WorkerPids().Count}");
            }
        });
        var ran = clock.Elapsed;
        var workers = shipper.Process.WorkerPids();

        // Every marker in the queue before the server comes up: the delivery then is the queue's alone.
        var queued = shipper.WaitUntilQueued(markers.Prefix, last, TimeSpan.FromSeconds(30));
        var queuedStats = shipper.Stats.Snapshot();
        await using var es = await shipper.StartElasticsearchAsync();
        var up = clock.Elapsed;
        var tally = new MarkerTally(markers.Prefix, last);
        var all = tally.WaitForAll(es, delivery);
        var delivered = clock.Elapsed;
        var stats = shipper.Stats.Snapshot();

        var stop = Stopwatch.StartNew();
        shipper.Process.Signal(SIGTERM);
        var exited = shipper.Process.WaitForExit(TimeSpan.FromSeconds(15));
        var totalsLine = exited ? shipper.Process.Log.Lines.LastOrDefault(l => l.Contains("Total metrics:", StringComparison.Ordinal)) : null;
        var totals = totalsLine is null ? (JsonElement?)null : JsonDocument.Parse(totalsLine[(totalsLine.IndexOf("Total metrics:", StringComparison.Ordinal) + "Total metrics:".Length)..]).RootElement.Clone();

        var result = new OutageResult(
            Markers: last,
            Indexed: tally.Distinct,
            Missing: tally.MissingSample(),
            Duplicates: tally.Duplicates,
            Splits: tally.Splits,
            Documents: tally.Documents,
            QueuedDocuments: queued.Documents,
            QueueBytes: Metric(queuedStats, "queue.filled.bytes"),
            Segments: Metric(queuedStats, "queue.disk.segments"),
            Ran: ran,
            DeliveredIn: delivered - up,
            AllDelivered: all,
            UndeliveredLive: Metric(stats, "pipeline.events.undelivered"),
            UndeliveredAtExit: totals is { } t ? StatsProbe.Metric(t, "pipeline.events.undelivered") : -1,
            StoppedIn: stop.Elapsed,
            Workers: workers.Count,
            BulkRequests: es.BulkRequestCount,
            ServerErrors: es.Errors.Count);

        _output.WriteLine(
            $"{result.Markers} markers at {perSecond}/s in {ran.TotalSeconds:0.0}s; queue before the server came up: {result.QueuedDocuments} documents, "
            + $"{Mib(result.QueueBytes):0.0} MiB in {result.Segments} segments; workers started during the outage: {result.Workers}");
        _output.WriteLine(DescribeRss());
        _output.WriteLine(
            $"server up: {result.Indexed} of {result.Markers} markers indexed in {result.DeliveredIn.TotalSeconds:0.0}s ({result.Documents} documents, "
            + $"{result.BulkRequests} bulk requests, {result.Duplicates} duplicate marker documents, {result.Splits} processes the dataset reported twice); pipeline.events.undelivered {result.UndeliveredLive} live, "
            + $"{result.UndeliveredAtExit} at exit; SIGTERM to exit {result.StoppedIn.TotalSeconds:0.00}s");
        if (!all || !exited)
        {
            _output.WriteLine("shipper log tail:\n" + string.Join('\n', shipper.Process.Log.Lines.TakeLast(60)));
        }

        return result;
    }

    /// <summary>Highest RSS in the first <see cref="Window"/> after <see cref="WarmUp"/>.</summary>
    public long EarlyMaxRss() => _samples.Where(s => s.At >= WarmUp && s.At < WarmUp + Window).Select(s => s.Rss).DefaultIfEmpty().Max();

    /// <summary>Highest RSS in the last <see cref="Window"/> of the run.</summary>
    public long LateMaxRss()
    {
        var end = _samples.Count > 0 ? _samples[^1].At : TimeSpan.Zero;
        return _samples.Where(s => s.At > end - Window).Select(s => s.Rss).DefaultIfEmpty().Max();
    }

    public long QueueBytesAfterWarmUp() => _samples.FirstOrDefault(s => s.At >= WarmUp)?.QueueBytes ?? 0;

    public long FinalQueueBytes() => _samples.Count > 0 ? _samples[^1].QueueBytes : 0;

    public string DescribeRss() =>
        $"worker RSS: max {Mib(EarlyMaxRss()):0.0} MiB in the {Window.TotalSeconds:0}s after a {WarmUp.TotalSeconds:0}s warm-up, "
        + $"max {Mib(LateMaxRss()):0.0} MiB in the last {Window.TotalSeconds:0}s, max {Mib(_samples.Select(s => s.Rss).DefaultIfEmpty().Max()):0.0} MiB overall; "
        + $"queue.filled.bytes {Mib(QueueBytesAfterWarmUp()):0.0} MiB after the warm-up, {Mib(FinalQueueBytes()):0.0} MiB at the end";

    public static double Mib(long bytes) => bytes / 1024.0 / 1024.0;

    private static long Metric(JsonElement? stats, string name) => stats is { } s ? StatsProbe.Metric(s, name) : -1;
}
