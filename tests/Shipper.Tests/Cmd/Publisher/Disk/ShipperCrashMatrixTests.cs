using System.Diagnostics;
using System.Globalization;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// The disk queue's promise, end to end with the real binary under its watchdog: once an event is written to the
/// queue, SIGKILLs of the worker at any moment lose nothing. 1,000 marked processes are queued while Elasticsearch
/// is down, then the worker is killed at random moments: twice with the server still down (during recovery
/// and the output's retries) and twice with it up and slowly indexing (during bulk requests, acknowledgement
/// saving and segment deletion; 64 KiB segments roll and are deleted every few dozen events). Each marker must
/// be indexed at least once; extra copies come only from batches indexed but not yet acknowledged at a kill.
/// </summary>
[Collection(DiskQueueEndToEndCollection.Name)]
public sealed class ShipperCrashMatrixTests : IDisposable
{
    private const int Markers = 1000;

    /// <summary>Documents per bulk request: a kill while one is in flight duplicates at most this many (about half of them marker documents).</summary>
    private const int BulkMaxSize = 20;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan BulkLatency = TimeSpan.FromMilliseconds(100);

    private readonly ITestOutputHelper _output;
    private readonly DiskQueueShipper _shipper;

    public ShipperCrashMatrixTests(ITestOutputHelper output)
    {
        _output = output;

        // respawn_delay 0s: a worker killed after 10 s of life is replaced at once; the quicker kills still wait
        // the watcher's backoff (2 s, 4 s, …), and respawn_limit 10 keeps it from giving up on them.
        _shipper = new DiskQueueShipper("64MiB", "64KiB", BulkMaxSize, """
            watchdog:
              respawn_delay: 0s
              respawn_limit: 10
            """);
    }

    public void Dispose() => _shipper.Dispose();

    [KernelFact]
    public async Task EveryQueuedEventIsDeliveredAtLeastOnceThroughRandomSigkillsOfTheWorker()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("SHIPPER_TEST_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var given)
            ? given
            : Random.Shared.Next();
        var random = new Random(seed);
        _output.WriteLine($"seed {seed} (SHIPPER_TEST_SEED={seed} repeats this run's kill delays)");
        var clock = Stopwatch.StartNew();

        _shipper.Start(_output);
        var worker = _shipper.WaitForWorker(0, Patience);
        var markers = new MarkedProcesses();
        markers.Run(1, Markers);
        var ran = clock.Elapsed;
        var queued = _shipper.WaitUntilQueued(markers.Prefix, Markers, Patience);
        var queuedAt = clock.Elapsed;

        // The scan of the segments is the exact condition; queue.added.events never settles on a busy machine.
        var added = _shipper.Stats.Read("queue.added.events");
        _output.WriteLine($"{Markers} markers ran by {ran.TotalSeconds:0.0}s, all in the queue's segments by {queuedAt.TotalSeconds:0.0}s "
            + $"({queued.Documents} documents queued; queue.added.events {added}, queue.filled.bytes {_shipper.Stats.Read("queue.filled.bytes")})");

        var serverUp = new[] { false, false, true, true };
        LoopbackElasticsearch? es = null;
        var report = new List<string>();
        try
        {
            var bulksBefore = 0;
            for (var round = 0; round < serverUp.Length; round++)
            {
                if (serverUp[round] && es is null)
                {
                    es = await _shipper.StartElasticsearchAsync();
                    es.BulkLatency = BulkLatency;
                }

                var pid = round == 0 ? worker : _shipper.WaitForWorker(round, Patience);
                var started = clock.Elapsed;
                if (es is not null)
                {
                    // Kill while bulk requests flow: this worker's first one marks the start of its delivery.
                    var bulks = bulksBefore;
                    await Eventually.True(() => es.BulkRequestCount > bulks, Patience);
                }

                var delay = TimeSpan.FromMilliseconds(random.Next(100, serverUp[round] ? 3000 : 2500));
                Thread.Sleep(delay);
                var indexed = new MarkerTally(markers.Prefix, Markers);
                if (es is not null)
                {
                    indexed.Refresh(es);
                }

                var stats = _shipper.Stats.Snapshot();
                _shipper.Kill(pid);
                bulksBefore = es?.BulkRequestCount ?? 0;
                report.Add($"kill {round + 1} ({(serverUp[round] ? "server up" : "server down")}): worker {pid} at {clock.Elapsed.TotalSeconds:0.0}s, "
                    + $"{delay.TotalSeconds:0.00}s after {(es is null ? "it answered" : "its first bulk request")} (up since {started.TotalSeconds:0.0}s); "
                    + $"queue.filled.events {Metric(stats, "queue.filled.events")}, queue.removed.events {Metric(stats, "queue.removed.events")}, "
                    + $"segments {Metric(stats, "queue.disk.segments")}, bulk requests {bulksBefore}, markers indexed {indexed.Distinct}");
            }

            // The kills are over: the rest may go at full speed.
            es!.BulkLatency = TimeSpan.Zero;
            var last = _shipper.WaitForWorker(serverUp.Length, Patience);
            var deliveryFrom = clock.Elapsed;
            var tally = new MarkerTally(markers.Prefix, Markers);
            var all = tally.WaitForAll(es!, TimeSpan.FromSeconds(60));
            var finalStats = _shipper.Stats.Snapshot();
            foreach (var line in report)
            {
                _output.WriteLine(line);
            }

            _output.WriteLine($"worker {last}: recovered {Metric(finalStats, "queue.disk.recovered.events")} events, corrupt records {Metric(finalStats, "queue.disk.corrupt_records")}; "
                + $"every marker indexed by {clock.Elapsed.TotalSeconds:0.0}s ({(clock.Elapsed - deliveryFrom).TotalSeconds:0.0}s after the last restart); "
                + $"{tally.Documents} documents, {es!.BulkRequestCount} bulk requests; marker documents {tally.Copies}, "
                + $"duplicates {tally.Duplicates} ({100.0 * tally.Duplicates / Markers:0.0} %), processes the dataset reported twice {tally.Splits}, {serverUp.Length} kills, seed {seed}");

            Assert.True(all, $"{tally.Expected - tally.Distinct} of {Markers} markers were never indexed, e.g. {tally.MissingSample()}");
            Assert.True(tally.Duplicates <= Markers / 20, $"{tally.Duplicates} duplicates of {Markers} markers (over 5 %)");
            Assert.Empty(es.Errors);
            Assert.DoesNotContain("giving up", _shipper.Process.Log.Text);
        }
        finally
        {
            if (es is not null)
            {
                await es.DisposeAsync();
            }
        }
    }

    private static long Metric(System.Text.Json.JsonElement? stats, string name) => stats is { } s ? StatsProbe.Metric(s, name) : -1;
}
