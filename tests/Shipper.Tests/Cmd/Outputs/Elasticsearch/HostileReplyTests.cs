using System.Globalization;
using System.Text.RegularExpressions;
using Shipper.Module.Logging;
using Shipper.Outputs.Elasticsearch;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>
/// The loopback cluster answers as no honest one does: replies without end, gzip bombs, replies cut off, items
/// with no real status, too few or too many items. Each time nothing may be acknowledged that was not, nothing
/// lost, the reply counted as a read error and the log must say what was wrong and where.
/// </summary>
public sealed partial class HostileReplyTests
{
    private const string FastBackoff = "backoff.init: 1ms\nbackoff.max: 20ms\n";
    private static readonly string Index = "shipper-" + Shipper.Events.BuildInfo.Version;

    [Fact]
    public Task AnEndlessChunkedReplyIsCutAtTheCapCountedAndRetried() =>
        ExpectCutAtTheCapThenDelivered(new BulkFault.EndlessChunkedReply(), "bytes as sent");

    [Theory]
    [InlineData(false, "inflates to more than")]
    [InlineData(true, "announces 4")]
    public Task AGzipBombIsRefusedAtTheCapCountedAndRetried(bool announceLength, string refusal) =>
        ExpectCutAtTheCapThenDelivered(new BulkFault.GzipBomb(4L << 30, announceLength), refusal);

    [Fact]
    public Task GzipThatInflatesToNothingIsCutAtTheCapAsSent() =>
        ExpectCutAtTheCapThenDelivered(new BulkFault.EndlessEmptyGzip(), "bytes as sent");

    /// <summary>
    /// The first bulk reply is <paramref name="fault"/>: nothing is acknowledged, all 10 come back for retry,
    /// one read error names the cap, and the retry indexes each document once.
    /// </summary>
    private static async Task ExpectCutAtTheCapThenDelivered(BulkFault fault, string refusal)
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.BulkFaults = n => n == 1 ? fault : null;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");
        var events = TestDocuments.Processes(10);

        var first = await harness.Output.PublishAsync(events, CancellationToken.None);

        Assert.Equal(0, first.Acked);
        Assert.Equal(10, first.Retry.Count);
        Assert.Equal(1, harness.Metric("output.read.errors"));
        AssertCapError(harness, es, refusal);

        var rest = await Publishing.UntilSettledAsync(harness.Output, first.Retry);
        Assert.Equal(10, rest.Acked);
        ElasticsearchOutputTests.AssertIndexedExactly(es, Index, events);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ATruncatedReplyIsAReadErrorAndEverythingIsRetried(bool chunked)
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.BulkFaults = n => n == 1 ? new BulkFault.TruncatedReply(chunked) : null;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");
        var events = TestDocuments.Processes(50);

        var first = await harness.Output.PublishAsync(events, CancellationToken.None);

        Assert.Equal(0, first.Acked);
        Assert.Equal(50, first.Retry.Count);
        Assert.Equal(1, harness.Metric("output.read.errors"));
        Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains($"bulk request with 50 events to http://127.0.0.1:{es.Port} failed", StringComparison.Ordinal)
            && m.Contains("the reply broke off after", StringComparison.Ordinal));

        // The cluster had indexed them: sent again they are there twice, as after any lost reply (at least once).
        var rest = await Publishing.UntilSettledAsync(harness.Output, first.Retry);
        Assert.Equal(50, rest.Acked);
        Assert.Equal(100, es.StoredCount);
        Assert.Equal(1, harness.Metric("output.read.errors"));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(199)]
    [InlineData(600)]
    public async Task AnItemWithoutARealStatusIsRetriedNotAcknowledged(int status)
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.ItemStatus = item => item.Request == 1 && item.Position % 2 == 0 ? status : null;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");
        var events = TestDocuments.Processes(10);

        var first = await harness.Output.PublishAsync(events, CancellationToken.None);

        Assert.Equal(5, first.Acked);
        Assert.Equal(0, first.Dropped);
        Assert.Equal(5, first.Retry.Count);
        Assert.All(first.Retry, e => Assert.Equal(0, events.IndexOf(e) % 2));
        Assert.Equal(5, harness.Metric("output.events.malformed"));
        Assert.Equal(1, harness.Metric("output.read.errors"));
        Assert.Equal(5, harness.Metric("output.bulk.failed"));
        Assert.Contains(harness.Log.Messages(LogLevel.Warning), m => m.Contains($"5 of 10 events were not indexed by http://127.0.0.1:{es.Port}", StringComparison.Ordinal)
            && m.Contains($"5 × malformed answer (5 with a status that is not 200–599, first {status}, 0 missing)", StringComparison.Ordinal));

        var rest = await Publishing.UntilSettledAsync(harness.Output, first.Retry);
        Assert.Equal(5, rest.Acked);
        ElasticsearchOutputTests.AssertIndexedExactly(es, Index, events);
    }

    [Fact]
    public async Task AShortItemsArrayWithErrorsFalseRetriesOnlyTheUnansweredDocuments()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.BulkFaults = n => n == 1 ? new BulkFault.MissingItems(3) : null;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");
        var events = TestDocuments.Processes(10);

        var first = await harness.Output.PublishAsync(events, CancellationToken.None);

        Assert.Equal(7, first.Acked);
        Assert.Equal(events.Skip(7), first.Retry);
        Assert.Equal(3, harness.Metric("output.events.malformed"));
        Assert.Equal(1, harness.Metric("output.read.errors"));
        Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains($"the bulk reply from http://127.0.0.1:{es.Port} has 7 items for 10 documents; the 3 unanswered are retried", StringComparison.Ordinal));

        // Only the three are sent again, not all ten.
        var rest = await Publishing.UntilSettledAsync(harness.Output, first.Retry);
        Assert.Equal(3, rest.Acked);
        Assert.Equal(13, es.StoredCount);
    }

    [Fact]
    public async Task ALongItemsArrayAcknowledgesNothing()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.BulkFaults = n => n == 1 ? new BulkFault.ExtraItems(2) : null;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");
        var events = TestDocuments.Processes(10);

        var first = await harness.Output.PublishAsync(events, CancellationToken.None);

        Assert.Equal(0, first.Acked);
        Assert.Equal(10, first.Retry.Count);
        Assert.Equal(1, harness.Metric("output.read.errors"));
        Assert.Equal(10, harness.Metric("output.bulk.failed"));
        Assert.Equal(0, harness.Metric("output.bulk.acked"));
        Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains($"cannot read the bulk reply from http://127.0.0.1:{es.Port}: it has 12 items for 10 documents", StringComparison.Ordinal));

        var rest = await Publishing.UntilSettledAsync(harness.Output, first.Retry);
        Assert.Equal(10, rest.Acked);
    }

    [Fact]
    public async Task AnEndlessHandshakeReplyIsCutAtTheDefaultCap()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.RootFault = new BulkFault.EndlessChunkedReply();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}");
        var events = TestDocuments.Processes(10);

        var first = await harness.Output.PublishAsync(events, CancellationToken.None);

        Assert.Equal(0, first.Acked);
        Assert.Equal(10, first.Retry.Count);
        Assert.Equal(0, es.BulkRequestCount);
        Assert.Equal(1, harness.Metric("output.read.errors"));
        Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains($"cannot connect to Elasticsearch at http://127.0.0.1:{es.Port}", StringComparison.Ordinal)
            && m.Contains($"larger than {ReplyLimit.Default} bytes as sent", StringComparison.Ordinal));

        es.RootFault = null;
        var rest = await Publishing.UntilSettledAsync(harness.Output, first.Retry);
        Assert.Equal(10, rest.Acked);
    }

    [Fact]
    public async Task TestOutputReportsAGzipBombAtTheHandshake()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.RootFault = new BulkFault.GzipBomb(1L << 30, AnnounceLength: false);
        var settings = ElasticsearchSettings.Parse(TestConfig.Section($"hosts: [\"{es.Url}\"]\n"));
        var console = new StringWriter();

        var code = await OutputTester.RunAsync(settings, console);

        Assert.Equal(1, code);
        Assert.Contains($"talk to server... ERROR cannot connect to Elasticsearch at http://127.0.0.1:{es.Port}: the reply inflates to more than {ReplyLimit.Default} bytes", console.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Asserts the one error line, naming the host and a cap sized for 10 documents.</summary>
    private static void AssertCapError(OutputHarness harness, LoopbackElasticsearch es, string what)
    {
        var line = Assert.Single(harness.Log.Messages(LogLevel.Error), m => m.Contains($"bulk request with 10 events to http://127.0.0.1:{es.Port} failed", StringComparison.Ordinal));
        Assert.True(line.Contains(what, StringComparison.Ordinal), line);
        var cap = long.Parse(CapInMessage().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(cap, ReplyLimit.Default, 2 * ReplyLimit.Default);
    }

    [GeneratedRegex(@"(?:larger|more) than (?:the )?(\d+) bytes")]
    private static partial Regex CapInMessage();
}
