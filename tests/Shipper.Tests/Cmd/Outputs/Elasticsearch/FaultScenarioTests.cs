using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Shipper.Module.Logging;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>
/// Each scenario: the loopback cluster misbehaves, the publisher loop keeps requeueing what comes back,
/// and in the end every event is indexed exactly once as sent (or dropped and counted where the policy
/// says so).
/// </summary>
public class FaultScenarioTests
{
    private const string FastBackoff = "backoff.init: 1ms\nbackoff.max: 20ms\n";
    private static readonly string Index = "shipper-" + Shipper.Events.BuildInfo.Version;

    [Fact]
    public async Task ThirtyPercentOfItemsAnswered429()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        var random = new Random(42);
        var rejected = 0;
        es.ItemStatus = _ =>
        {
            lock (random)
            {
                if (random.NextDouble() < 0.3)
                {
                    rejected++;
                    return 429;
                }

                return null;
            }
        };
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");
        var events = TestDocuments.Processes(2000);

        var totals = await Publishing.UntilSettledAsync(harness.Output, events, batchSize: 500);

        Assert.Equal(2000, totals.Acked);
        ElasticsearchOutputTests.AssertIndexedExactly(es, Index, events);
        Assert.True(rejected > 400, $"only {rejected} items were rejected");
        Assert.Equal(rejected, harness.Metric("output.events.toomany"));
        Assert.Equal(rejected, harness.Metric("output.bulk.failed"));
        Assert.Equal(2000, harness.Metric("output.bulk.acked"));
        Assert.Contains(harness.Log.Messages(LogLevel.Warning), m => m.Contains("429 Too Many Requests", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FirstRequestsAnswered503()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.BulkFaults = n => n <= 3 ? new BulkFault.Status(503) : null;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");
        var events = TestDocuments.Processes(1000);

        var totals = await Publishing.UntilSettledAsync(harness.Output, events);

        Assert.Equal(1000, totals.Acked);
        ElasticsearchOutputTests.AssertIndexedExactly(es, Index, events);
        Assert.Equal(4, es.BulkRequestCount);
        Assert.Equal(3000, harness.Metric("output.bulk.failed"));
        var errors = harness.Log.Messages(LogLevel.Error).ToList();
        Assert.Equal(3, errors.Count(m => m.Contains("HTTP 503", StringComparison.Ordinal) && m.Contains("unavailable_shards_exception", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ConnectionDroppedMidRequest()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.BulkFaults = n => n <= 2 ? new BulkFault.DropConnection() : null;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\ncompression_level: 0\n{FastBackoff}");
        var events = TestDocuments.Processes(1600);

        var totals = await Publishing.UntilSettledAsync(harness.Output, events);

        Assert.Equal(1600, totals.Acked);
        ElasticsearchOutputTests.AssertIndexedExactly(es, Index, events);
        Assert.Equal(2, harness.Log.Messages(LogLevel.Error).Count(m => m.Contains("bulk request with 1600 events", StringComparison.Ordinal)));
        // After a dropped connection the output reconnects: GET / again before the next bulk.
        Assert.Equal(3, es.Requests.Count(r => r.Method == "GET" && r.Path == "/"));
    }

    [Fact]
    public async Task RequestTooLargeIsSplitUntilItFits()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.MaxContentLength = 150_000;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");
        var events = TestDocuments.Processes(1600);

        var totals = await Publishing.UntilSettledAsync(harness.Output, events);

        Assert.Equal(1600, totals.Acked);
        ElasticsearchOutputTests.AssertIndexedExactly(es, Index, events);
        Assert.Contains(es.Requests, r => r.Path == "/_bulk" && r.Status == 413);
        Assert.All(es.Requests.Where(r => r.Path == "/_bulk" && r.Status == 200), r => Assert.True(r.BodyBytes <= 150_000));
        Assert.Contains(harness.Log.Messages(LogLevel.Warning), m => m.Contains("HTTP 413", StringComparison.Ordinal) && m.Contains("splitting", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SingleEventTooLargeIsDroppedAndCounted()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.MaxContentLength = 200;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");

        var totals = await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(4));

        Assert.Equal(0, totals.Acked);
        Assert.Equal(4, totals.Dropped);
        Assert.Equal(4, harness.Metric("output.bulk.dropped"));
        Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains("single event", StringComparison.Ordinal) && m.Contains("413", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MappingErrorsAreDroppedAndCounted()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");
        var good = TestDocuments.Processes(300);
        var bad = Enumerable.Range(1000, 7).Select(i => TestDocuments.Process(i, pid: "not-a-pid")).ToList();

        var totals = await Publishing.UntilSettledAsync(harness.Output, good.Concat(bad).ToList());

        Assert.Equal(300, totals.Acked);
        Assert.Equal(7, totals.Dropped);
        ElasticsearchOutputTests.AssertIndexedExactly(es, Index, good);
        Assert.Equal(7, harness.Metric("output.bulk.dropped"));
        var warnings = harness.Log.Messages(LogLevel.Warning).Where(m => m.Contains("dropping event!", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, warnings.Count);
        Assert.Contains(harness.Log.Messages(LogLevel.Warning), m => m.Contains("4 more events of this request were rejected", StringComparison.Ordinal) && m.Contains("7 in all; 7 dropped", StringComparison.Ordinal));
        Assert.Contains("status 400, document_parsing_exception: [1:", warnings[0], StringComparison.Ordinal);
        Assert.Contains("failed to parse field [process.pid] of type [long]", warnings[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task MappingErrorsGoToTheDeadLetterIndex()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\nnon_indexable_policy.dead_letter_index.index: shipper-dead-letter\n{FastBackoff}");
        var good = TestDocuments.Processes(300);
        var bad = Enumerable.Range(1000, 5).Select(i => TestDocuments.Process(i, pid: "not-a-pid")).ToList();

        var totals = await Publishing.UntilSettledAsync(harness.Output, good.Concat(bad).ToList());

        Assert.Equal(305, totals.Acked);
        Assert.Equal(0, totals.Dropped);
        ElasticsearchOutputTests.AssertIndexedExactly(es, Index, good);
        var letters = es.Documents("shipper-dead-letter");
        Assert.Equal(5, letters.Count);
        var expected = bad.ToDictionary(e => TestDocuments.SequenceOf(TestDocuments.Expected(e)), TestDocuments.Expected);
        foreach (var letter in letters)
        {
            using var doc = JsonDocument.Parse(letter);
            var original = doc.RootElement.GetProperty("message").GetString()!;
            Assert.Equal(expected[TestDocuments.SequenceOf(original)], original);
            Assert.Equal(400, doc.RootElement.GetProperty("error").GetProperty("type").GetInt32());
            Assert.Contains("failed to parse field [process.pid]", doc.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.True(doc.RootElement.TryGetProperty("@timestamp", out _));
        }

        Assert.Equal(5, harness.Metric("output.events.dead_letter"));
        Assert.Equal(0, harness.Metric("output.bulk.dropped"));
    }

    [Fact]
    public async Task DeadLetterRejectedToo_IsDroppedNotLooped()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.ItemStatus = item => item.Index == "shipper-dead-letter" || item.Document.GetProperty("process").GetProperty("entity_id").GetString() == "e-3" ? 400 : null;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\nnon_indexable_policy.dead_letter_index.index: shipper-dead-letter\n{FastBackoff}");

        var totals = await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(10));

        Assert.Equal(9, totals.Acked);
        Assert.Equal(1, totals.Dropped);
        Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains("dead letter index 'shipper-dead-letter' either", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TwoHostsWithOneDown()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        var down = UnusedPort();
        await using var harness = new OutputHarness($"hosts: [\"127.0.0.1:{down}\", \"{es.Url}\"]\n{FastBackoff}");
        var events = TestDocuments.Processes(4000);

        var totals = await Publishing.UntilSettledAsync(harness.Output, events, batchSize: 400);

        Assert.Equal(4000, totals.Acked);
        ElasticsearchOutputTests.AssertIndexedExactly(es, Index, events);
        Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains($"cannot connect to Elasticsearch at http://127.0.0.1:{down}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FailoverModeMovesToTheOtherHost()
    {
        await using var up = await LoopbackElasticsearch.StartAsync();
        await using var other = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{up.Url}\", \"{other.Url}\"]\nloadbalance: false\n{FastBackoff}");
        var first = TestDocuments.Processes(500);
        await Publishing.UntilSettledAsync(harness.Output, first);
        var active = up.StoredCount > 0 ? up : other;
        var standby = active == up ? other : up;
        Assert.Equal(0, standby.StoredCount);

        active.BulkFaults = _ => new BulkFault.Status(503);
        var second = TestDocuments.Processes(500, first: 500);
        await Publishing.UntilSettledAsync(harness.Output, second);

        ElasticsearchOutputTests.AssertIndexedExactly(standby, Index, second);
        ElasticsearchOutputTests.AssertIndexedExactly(active, Index, first);
    }

    [Fact]
    public async Task PerItem5xxIsRetriedAndMaxRetriesAppliesOnlyToThem()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        var attempts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        es.ItemStatus = item =>
        {
            var entity = item.Document.GetProperty("process").GetProperty("entity_id").GetString()!;
            var n = attempts.AddOrUpdate(entity, 1, (_, v) => v + 1);
            return entity == "e-7" ? 500 : n <= 2 ? 503 : null;
        };
        es.BulkFaults = n => n is 2 or 4 ? new BulkFault.Status(502) : null;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\nmax_retries: 3\n{FastBackoff}");
        var events = TestDocuments.Processes(50);

        var totals = await Publishing.UntilSettledAsync(harness.Output, events);

        Assert.Equal(49, totals.Acked);
        Assert.Equal(1, totals.Dropped);
        ElasticsearchOutputTests.AssertIndexedExactly(es, Index, events.Where(e => e != events[7]).ToList());
        // e-7: 4 per-item failures (the first try and 3 retries) and then the policy; whole-request 502s do not count.
        Assert.Equal(4, attempts["e-7"]);
        Assert.Contains(harness.Log.Messages(LogLevel.Warning), m => m.Contains("after 4 attempts (max_retries 3): dropping event!", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DuplicatesAreCountedAndAcked()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.ItemStatus = item => item.Position % 10 == 0 ? 409 : null;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");

        var totals = await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(100));

        Assert.Equal(100, totals.Acked);
        Assert.Equal(10, harness.Metric("output.events.duplicates"));
        Assert.Equal(90, harness.Metric("output.bulk.acked"));
        Assert.Equal(90, es.StoredCount);
    }

    [Fact]
    public async Task ShutdownReturnsEverythingUnconfirmed()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.BulkFaults = _ => new BulkFault.Stall();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n");
        var events = TestDocuments.Processes(3500);
        using var shutdown = new CancellationTokenSource();

        var publish = harness.Output.PublishAsync(events, shutdown.Token);
        await WaitUntilAsync(() => es.BulkRequestCount >= 1);
        shutdown.Cancel();
        var result = await publish.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, result.Acked);
        Assert.Equal(3500, result.Retry.Count);
        Assert.Equal(3500, result.Retry.Distinct().Count());
        Assert.Equal(0, harness.Metric("output.events.active"));
    }

    [Fact]
    public async Task WrongCredentials_ClearErrorAndNoRetryStorm()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.Users["elastic"] = "right";
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2024-05-17T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\nusername: elastic\npassword: wrong\nbackoff.init: 1s\nbackoff.max: 60s\n", time: clock);
        var events = TestDocuments.Processes(10);
        int Attempts() => es.Requests.Count(r => r.Path == "/");

        for (var round = 1; round <= 3; round++)
        {
            var publish = harness.Output.PublishAsync(events, CancellationToken.None);
            await WaitUntilAsync(() => Attempts() == round);
            await Task.Delay(200);
            Assert.False(publish.IsCompleted);
            clock.Advance(TimeSpan.FromSeconds(60) - TimeSpan.FromMilliseconds(1));
            await Task.Delay(200);
            Assert.False(publish.IsCompleted, "the output must wait backoff.max after a 401");
            Assert.Equal(round, Attempts());
            clock.Advance(TimeSpan.FromMilliseconds(1));
            var result = await publish.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(10, result.Retry.Count);
        }

        var error = harness.Log.Messages(LogLevel.Error).First();
        Assert.Contains($"Elasticsearch at {es.Url.ToString().TrimEnd('/')} refused the credentials (HTTP 401: security_exception: unable to authenticate user [elastic]", error, StringComparison.Ordinal);
        Assert.Contains("check output.elasticsearch.username/password or api_key", error, StringComparison.Ordinal);
        Assert.Contains("retrying in 60s", error, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", harness.Log.All, StringComparison.Ordinal);
        Assert.Equal(0, es.BulkRequestCount);
    }

    [Fact]
    public async Task ServerThatIsNotElasticsearchIsRefused()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.SendProductHeader = false;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");

        var result = await harness.Output.PublishAsync(TestDocuments.Processes(5), CancellationToken.None);

        Assert.Equal(5, result.Retry.Count);
        Assert.Equal(0, es.BulkRequestCount);
        Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains($"refusing to ship to {es.Url.ToString().TrimEnd('/')}: the server is not Elasticsearch", StringComparison.Ordinal));
        Assert.StartsWith("refusing to ship to", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TooOldElasticsearchIsRefused()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.VersionNumber = "7.10.2";
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");

        var result = await harness.Output.PublishAsync(TestDocuments.Processes(5), CancellationToken.None);

        Assert.Equal(5, result.Retry.Count);
        Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains("Elasticsearch 7.10.2 is too old: Shipper needs 7.17 or later", StringComparison.Ordinal));
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException("condition not reached");
            }

            await Task.Delay(10);
        }
    }

    internal static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
