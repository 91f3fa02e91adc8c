using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Shipper.Module.Registry;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

public class BulkEncoderTests
{
    private static BulkEncoder Encoder(int compression, string index = "shipper-%{[agent.version]}", string? pipeline = null)
    {
        var constants = EventFormatter.ConstantFields(TestDocuments.Writer);
        return new BulkEncoder(
            TestDocuments.Writer,
            new EventFormatter(FormatString.Parse(index), constants, true),
            pipeline is null ? null : new EventFormatter(FormatString.Parse(pipeline), constants, true),
            compression,
            escapeHtml: false,
            deadLetterIndex: null,
            new ConditionalWeakTable<Event, DeadLetterMark>());
    }

    private static string[] Lines(BulkEncoder encoder, bool gzip)
    {
        var bytes = encoder.Body.ToArray();
        if (gzip)
        {
            using var input = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var output = new MemoryStream();
            input.CopyTo(output);
            bytes = output.ToArray();
        }

        Assert.Equal((byte)'\n', bytes[^1]);
        return Encoding.UTF8.GetString(bytes).Split('\n')[..^1];
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(9)]
    public void WritesCreateActionsAndDocumentsOnePerLine(int compression)
    {
        using var encoder = Encoder(compression);
        var events = TestDocuments.Processes(500);
        encoder.Begin();
        foreach (var evt in events)
        {
            Assert.True(encoder.TryAdd(evt, out _));
        }

        encoder.Finish();

        var lines = Lines(encoder, compression > 0);
        Assert.Equal(1000, lines.Length);
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal($"{{\"create\":{{\"_index\":\"shipper-{TestDocuments.Agent.Version}\"}}}}", lines[2 * i]);
            Assert.Equal(TestDocuments.Expected(events[i]), lines[(2 * i) + 1]);
        }

        Assert.Equal(500, encoder.Count);
        Assert.Equal(Encoding.UTF8.GetByteCount(string.Join('\n', lines)) + 1, encoder.RawLength);
        if (compression > 0)
        {
            Assert.True(encoder.Body.Length < encoder.RawLength / 5);
        }
    }

    [Fact]
    public void NoDocumentNorDeadLetterCarriesMetadata()
    {
        // libbeat sends @metadata to the console only; Elasticsearch would index it as a dynamic object.
        var deadLetters = new ConditionalWeakTable<Event, DeadLetterMark>();
        var constants = EventFormatter.ConstantFields(TestDocuments.Writer);
        using var encoder = new BulkEncoder(
            TestDocuments.Writer,
            new EventFormatter(FormatString.Parse("shipper-%{[@metadata.version]}"), constants, true),
            null,
            0,
            escapeHtml: false,
            deadLetterIndex: "dead",
            deadLetters);
        var events = TestDocuments.Processes(4);
        deadLetters.Add(events[1], new DeadLetterMark(400, "mapper_parsing_exception"));
        encoder.Begin();
        foreach (var evt in events)
        {
            Assert.True(encoder.TryAdd(evt, out _));
        }

        encoder.Finish();
        var lines = Lines(encoder, gzip: false);
        Assert.Equal(8, lines.Length);
        Assert.All(lines, line => Assert.DoesNotContain("@metadata", line));
        Assert.Equal($"{{\"create\":{{\"_index\":\"shipper-{TestDocuments.Agent.Version}\"}}}}", lines[0]);
        Assert.Equal("{\"create\":{\"_index\":\"dead\"}}", lines[2]);
    }

    [Fact]
    public void ReusesTheBufferAcrossRequests()
    {
        using var encoder = Encoder(1);
        for (var round = 0; round < 3; round++)
        {
            encoder.Begin();
            Assert.True(encoder.TryAdd(TestDocuments.Process(round), out _));
            encoder.Finish();
            var lines = Lines(encoder, gzip: true);
            Assert.Equal(2, lines.Length);
            Assert.Equal(TestDocuments.Expected(TestDocuments.Process(round)), lines[1]);
        }
    }

    [Fact]
    public void PerEventIndexAndPipelineGoIntoTheActionLine()
    {
        using var encoder = Encoder(0, "audit-%{[event.dataset]}-%{+yyyy.MM.dd}", "%{[event.module]}_pipeline");
        encoder.Begin();
        encoder.TryAdd(TestDocuments.Process(1, new DateTime(2024, 2, 29, 23, 59, 59, DateTimeKind.Utc)), out _);
        encoder.TryAdd(TestDocuments.Process(2, new DateTime(2024, 3, 1, 0, 0, 0, DateTimeKind.Utc)), out _);
        encoder.Finish();

        var lines = Lines(encoder, gzip: false);
        Assert.Equal("{\"create\":{\"_index\":\"audit-process-2024.02.29\",\"pipeline\":\"system_pipeline\"}}", lines[0]);
        Assert.Equal("{\"create\":{\"_index\":\"audit-process-2024.03.01\",\"pipeline\":\"system_pipeline\"}}", lines[2]);
    }

    [Fact]
    public void AnEventMissingAnIndexFieldIsRefusedWithTheReason()
    {
        using var encoder = Encoder(0, "logs-%{[fields.team]}");
        encoder.Begin();
        Assert.False(encoder.TryAdd(TestDocuments.Process(1), out var problem));
        Assert.Contains("[fields.team]", problem, StringComparison.Ordinal);
        encoder.Finish();
        Assert.Equal(0, encoder.Body.Length);
    }

    [Fact]
    public void LargeBodiesSpanManyPooledSegments()
    {
        using var encoder = Encoder(0);
        encoder.Begin();
        foreach (var evt in TestDocuments.Processes(1600))
        {
            encoder.TryAdd(evt, out _);
        }

        encoder.Finish();
        Assert.True(encoder.Body.Length > 64 * 1024 * 10);
        Assert.Equal(encoder.RawLength, encoder.Body.Length);
        Assert.Equal(3200, Lines(encoder, gzip: false).Length);
        using var doc = JsonDocument.Parse(Lines(encoder, gzip: false)[3199]);
        Assert.Equal("e-1599", doc.RootElement.GetProperty("process").GetProperty("entity_id").GetString());
    }

    [Fact]
    public void ADocumentWithARawNewlineIsRefused()
    {
        using var encoder = Encoder(0);
        var evt = new Event
        {
            Timestamp = DateTime.UtcNow,
            Module = "system",
            Dataset = "process",
            Action = "process_started",
            Categories = new[] { "process" },
            Types = new[] { "start" },
            Body = new RawBody(),
        };
        encoder.Begin();
        Assert.False(encoder.TryAdd(evt, out var problem));
        Assert.Contains("raw newline", problem, StringComparison.Ordinal);
    }

    private sealed class RawBody : IEventBody
    {
        public void WriteFields(Utf8JsonWriter writer)
        {
            writer.WritePropertyName("labels");
            writer.WriteRawValue("{\n\"a\": 1}", skipInputValidation: true);
        }
    }
}
