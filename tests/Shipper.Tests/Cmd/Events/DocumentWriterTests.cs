using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Shipper.Events;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Events;

public class DocumentWriterTests
{
    [Theory]
    [InlineData(DateTimeKind.Utc)]
    [InlineData(DateTimeKind.Unspecified)]
    public void TimestampsAreUtcWithMilliseconds(DateTimeKind kind)
    {
        var time = new DateTime(2024, 5, 1, 10, 0, 0, kind).AddTicks(1_239_999); // 123.9999 ms: cut, not rounded
        Assert.Equal("\"2024-05-01T10:00:00.123Z\"", Write(time));
        Assert.Equal("\"0001-01-01T00:00:00.000Z\"", Write(DateTime.MinValue));
        Assert.Equal("\"9999-12-31T23:59:59.999Z\"", Write(DateTime.MaxValue));
    }

    /// <summary>
    /// A local time is converted with the zone's offset on that date. The machine (and CI) runs in UTC, where
    /// local and UTC coincide, so the writer runs in a child process under a zone with a non-whole-hour offset
    /// (Kathmandu +05:45; St. John's -02:30 in summer, -03:30 in winter). Needs tzdata (/usr/share/zoneinfo).
    /// </summary>
    [Theory]
    [InlineData("Asia/Kathmandu", "2024-05-01T15:45:00.007", "2024-05-01T10:00:00.007Z")]
    [InlineData("Asia/Kathmandu", "2024-01-01T05:00:00.000", "2023-12-31T23:15:00.000Z")]
    [InlineData("America/St_Johns", "2024-05-01T07:30:00.007", "2024-05-01T10:00:00.007Z")]
    [InlineData("America/St_Johns", "2024-12-31T21:00:00.123", "2025-01-01T00:30:00.123Z")]
    public void ALocalTimestampIsWrittenInUtc(string zone, string local, string utc)
    {
        var output = InChildProcess.Run(nameof(WriteLocalTime), new Dictionary<string, string> { ["TZ"] = zone }, local);
        Assert.Equal($"{zone} \"{utc}\"", output);
    }

    /// <summary>In the child: the zone it runs in, and <paramref name="args"/>[0] as a local time written by the writer.</summary>
    internal static string WriteLocalTime(string[] args)
    {
        var local = DateTime.SpecifyKind(DateTime.ParseExact(args[0], "yyyy-MM-ddTHH:mm:ss.fff", CultureInfo.InvariantCulture), DateTimeKind.Local);
        return $"{TimeZoneInfo.Local.Id} {Write(local)}";
    }

    /// <summary>
    /// A document read back from the disk queue sits among others in a shared buffer: only its own bytes are
    /// written, as they are for a compact writer and re-encoded for an indented one (console <c>pretty</c>).
    /// </summary>
    [Fact]
    public void AStoredDocumentIsWrittenFromItsOwnSliceOfASharedBuffer()
    {
        const string stored = "{\"@timestamp\":\"2024-05-01T10:00:00.123Z\",\"process\":{\"name\":\"a<b>\u00e9\"}}";
        var shared = Encoding.UTF8.GetBytes("{\"x\":1}" + stored + "{\"y\":2}");
        var document = new ReadOnlyMemory<byte>(shared, 7, Encoding.UTF8.GetByteCount(stored));
        var evt = new Shipper.Module.Registry.Event
        {
            Timestamp = DateTime.UnixEpoch,
            Kind = Shipper.Module.Registry.EventKind.Event,
            Module = "system",
            Dataset = "process",
            Action = "process_started",
            Categories = Array.Empty<string>(),
            Types = Array.Empty<string>(),
            Body = new EncodedDocument(document, 0),
        };

        Assert.Equal(stored, WriteDocument(evt, indented: false));
        var indented = WriteDocument(evt, indented: true);
        Assert.Contains("\n", indented);
        Assert.Equal(stored, Compact(indented));
    }

    private static string WriteDocument(Shipper.Module.Registry.Event evt, bool indented)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = indented,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            Shipper.Tests.Cmd.Outputs.Elasticsearch.TestDocuments.Writer.Write(writer, evt);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The same JSON written compact with relaxed escaping, to compare an indented document with the stored one.</summary>
    private static string Compact(string json)
    {
        using var parsed = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            parsed.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Write(DateTime time)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            DocumentWriter.WriteTimestamp(writer, time);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
