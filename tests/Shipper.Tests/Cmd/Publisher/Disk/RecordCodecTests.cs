using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Shipper.Config;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Outputs.Console;
using Shipper.Outputs.Elasticsearch;
using Shipper.Publisher.Disk;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// Records as the disk queue stores them: without <c>@metadata</c> now, with it in segments written by earlier
/// releases (format 1), which must reach Elasticsearch without it all the same.
/// </summary>
public sealed class RecordCodecTests : IDisposable
{
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static readonly byte[] OldMetadata = "{\"beat\":\"shipper\",\"type\":\"_doc\",\"version\":\"0.0.9\"}"u8.ToArray();

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void StoredDocumentsHaveNoMetadataAndComeBackAsTheyWereWritten()
    {
        var codec = new RecordCodec(TestDocuments.Writer);
        var buffer = new ArrayBufferWriter<byte>();
        var evt = TestDocuments.Process(5);
        var length = codec.Append(buffer, evt);

        var payload = buffer.WrittenSpan.Slice(RecordFrame.HeadSize, length - RecordFrame.Overhead);
        Assert.Equal(2, payload[0]); // format 2: documents without @metadata
        Assert.True(codec.TryDecode(payload, 0, out var back));
        var json = Encoding.UTF8.GetString(((EncodedDocument)back!.Body).Json.Span);
        Assert.Equal(TestDocuments.Expected(evt), json);
        Assert.DoesNotContain("@metadata", json);
    }

    [Fact]
    public void AFormatOneRecordLosesItsMetadataAndNothingElse()
    {
        var evt = TestDocuments.Process(7);
        var document = TestDocuments.Expected(evt);

        Assert.True(new RecordCodec(TestDocuments.Writer).TryDecode(FormatOnePayload(evt), 0, out var back));

        Assert.Equal(document, Encoding.UTF8.GetString(((EncodedDocument)back!.Body).Json.Span));
        Assert.Equal("process_started", back.Action);
        Assert.Equal(evt.Timestamp, back.Timestamp);
    }

    [Theory]
    [InlineData("{\"@metadata\":{\"beat\":\"shipper\"},\"a\":1}", "{\"a\":1}")]
    [InlineData("{\"a\":1,\"@metadata\":{\"beat\":\"shipper\"}}", "{\"a\":1}")]
    [InlineData("{\"a\":1,\"@metadata\":{\"beat\":\"x\"},\"b\":[1,{\"@metadata\":2}]}", "{\"a\":1,\"b\":[1,{\"@metadata\":2}]}")]
    [InlineData("{\"a\":{\"@metadata\":1}}", "{\"a\":{\"@metadata\":1}}")]
    [InlineData("{\"@metadata\":{}}", "{}")]
    public void AFormatOneDocumentLosesOnlyItsTopLevelMetadata(string stored, string expected)
    {
        Assert.True(new RecordCodec(TestDocuments.Writer).TryDecode(FormatOnePayload(TestDocuments.Process(0), Encoding.UTF8.GetBytes(stored)), 0, out var back));
        Assert.Equal(expected, Encoding.UTF8.GetString(((EncodedDocument)back!.Body).Json.Span));
    }

    [Fact]
    public void AFormatOneDocumentThatDoesNotParseIsRefused()
    {
        Assert.False(new RecordCodec(TestDocuments.Writer).TryDecode(FormatOnePayload(TestDocuments.Process(0), "{\"a\":[1,}"u8.ToArray()), 0, out _));
    }

    [Fact]
    public async Task ASegmentFromTheEarlierReleaseReachesElasticsearchWithoutMetadataAndTheConsoleWithIt()
    {
        // A segment file exactly as the release before format 2 wrote it: header, then framed format 1 records.
        var path = _dir.Combine("queue");
        Directory.CreateDirectory(path, PrivateDirectory);
        var segment = new ArrayBufferWriter<byte>();
        SegmentHeader.Write(segment.GetSpan(SegmentHeader.Size), 1);
        segment.Advance(SegmentHeader.Size);
        var originals = TestDocuments.Processes(20);
        foreach (var evt in originals)
        {
            var payload = FormatOnePayload(evt);
            var frame = new byte[RecordFrame.Overhead + payload.Length];
            payload.CopyTo(frame.AsSpan(RecordFrame.HeadSize));
            RecordFrame.Seal(frame);
            segment.Write(frame);
        }

        File.WriteAllBytes(Path.Combine(path, "1" + QueueDirectory.SegmentSuffix), segment.WrittenSpan.ToArray());

        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(path));
        var replayed = await queue.ReadAsync(originals.Count);
        Assert.Equal(0, queue.Metric("queue.disk.corrupt_records"));

        using var encoder = new BulkEncoder(
            TestDocuments.Writer,
            new EventFormatter(FormatString.Parse("shipper"), EventFormatter.ConstantFields(TestDocuments.Writer), true),
            null,
            0,
            escapeHtml: false,
            deadLetterIndex: null,
            new ConditionalWeakTable<Event, DeadLetterMark>());
        encoder.Begin();
        foreach (var evt in replayed)
        {
            Assert.True(encoder.TryAdd(evt, out _));
        }

        encoder.Finish();
        var body = Encoding.UTF8.GetString(encoder.Body.ToArray());
        Assert.DoesNotContain("@metadata", body);
        var documents = body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where((_, i) => i % 2 == 1).ToArray();
        Assert.Equal(originals.Select(TestDocuments.Expected), documents);

        var stdout = new MemoryStream();
        var console = new ConsoleOutput(new ConsoleOutputSettings(false, 100), stdout, TestDocuments.Writer, new MetricsRegistry(), Logger.Null, TimeProvider.System);
        await console.PublishAsync(replayed, CancellationToken.None);
        var lines = Encoding.UTF8.GetString(stdout.ToArray()).TrimEnd('\n').Split('\n');
        Assert.Equal(originals.Count, lines.Length);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(new[] { "@timestamp", "@metadata" }, names.Take(2));
            Assert.Single(names, n => n == "@metadata");

            // This run's @metadata, as libbeat's codec adds the running beat's version to a replayed event.
            Assert.Equal(TestDocuments.Agent.Version, doc.RootElement.GetProperty("@metadata").GetProperty("version").GetString());
        }
    }

    /// <summary>
    /// A payload as format 1 wrote it: version 1, kind, ticks, module, dataset, action, no id, then the document
    /// with <c>@metadata</c> second, after <c>@timestamp</c>.
    /// </summary>
    private static byte[] FormatOnePayload(Event evt, byte[]? document = null)
    {
        if (document is null)
        {
            var current = TestDocuments.Expected(evt);
            var afterTimestamp = current.IndexOf(",\"event\"", StringComparison.Ordinal);
            document = Encoding.UTF8.GetBytes(current[..afterTimestamp] + ",\"@metadata\":" + Encoding.UTF8.GetString(OldMetadata) + current[afterTimestamp..]);
        }

        var payload = new ArrayBufferWriter<byte>();
        payload.Write(new byte[] { 1, (byte)evt.Kind });
        var ticks = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(ticks, evt.Timestamp.Ticks);
        payload.Write(ticks);
        foreach (var text in new[] { evt.Module, evt.Dataset, evt.Action })
        {
            var utf8 = Encoding.UTF8.GetBytes(text);
            var length = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)utf8.Length);
            payload.Write(length);
            payload.Write(utf8);
        }

        payload.Write(new byte[] { 0xFF, 0xFF });
        payload.Write(document);
        return payload.WrittenSpan.ToArray();
    }
}
