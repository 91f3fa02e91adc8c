using System.IO.Compression;
using System.Text;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

public class ElasticsearchOutputTests
{
    private const string FastBackoff = "backoff.init: 1ms\nbackoff.max: 20ms\n";
    private static readonly string Index = "shipper-" + Shipper.Events.BuildInfo.Version;

    [Fact]
    public async Task DeliversEveryDocumentExactlyAsWrittenWithGzip()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n");
        var events = TestDocuments.Processes(3000);

        var totals = await Publishing.UntilSettledAsync(harness.Output, events);

        Assert.Equal(3000, totals.Acked);
        AssertIndexedExactly(es, Index, events);
        var bulks = es.Requests.Where(r => r.Path == "/_bulk").ToList();
        Assert.Equal(2, bulks.Count);
        foreach (var bulk in bulks)
        {
            Assert.Equal("application/x-ndjson", bulk.Header("Content-Type"));
            Assert.Equal("gzip", bulk.Header("Content-Encoding"));
            Assert.NotNull(bulk.Header("Content-Length"));
            Assert.Null(bulk.Header("Transfer-Encoding"));
            Assert.Equal("?filter_path=errors,items.*.error,items.*.status", bulk.Query);
            Assert.True(bulk.WireBytes < bulk.BodyBytes / 4, $"gzip should shrink {bulk.BodyBytes} bytes, sent {bulk.WireBytes}");
        }

        Assert.True(es.Templates.ContainsKey(Index), "the index template is loaded on first connect");
        Assert.Equal(3000, harness.Metric("output.bulk.acked"));
        Assert.Equal(2, harness.Metric("output.bulk.requests"));
        Assert.Equal(0, harness.Metric("output.events.active"));
        Assert.True(harness.Metric("output.write.bytes") > bulks.Sum(b => b.WireBytes));
        Assert.True(harness.Metric("output.read.bytes") > 0);
        Assert.Contains(harness.Log.Messages(Shipper.Module.Logging.LogLevel.Info), m => m.Contains("connected to Elasticsearch 8.15.0", StringComparison.Ordinal) && m.Contains("cluster 'loopback'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SendsPlainNdjsonWhenCompressionIsOff()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\ncompression_level: 0\n");
        var events = TestDocuments.Processes(100);

        var result = await harness.Output.PublishAsync(events, CancellationToken.None);
        Assert.Equal(100, result.Acked);
        Assert.Null(result.Error);

        AssertIndexedExactly(es, Index, events);
        var bulk = es.Requests.Single(r => r.Path == "/_bulk");
        Assert.Null(bulk.Header("Content-Encoding"));
        Assert.Equal(bulk.BodyBytes, bulk.WireBytes);
    }

    internal static void AssertIndexedExactly(LoopbackElasticsearch es, string index, IReadOnlyList<Shipper.Module.Registry.Event> events)
    {
        Assert.Empty(es.Errors);
        var stored = es.Documents(index);
        var bySeq = new Dictionary<int, string>();
        foreach (var doc in stored)
        {
            var seq = TestDocuments.SequenceOf(doc);
            Assert.False(bySeq.ContainsKey(seq), $"event {seq} was indexed twice");
            bySeq[seq] = doc;
        }

        Assert.Equal(events.Count, stored.Count);
        foreach (var evt in events)
        {
            var expected = TestDocuments.Expected(evt);
            var seq = TestDocuments.SequenceOf(expected);
            Assert.True(bySeq.TryGetValue(seq, out var actual), $"event {seq} is missing");
            Assert.Equal(expected, actual);
        }
    }
}
