using System.Buffers;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Shipper.Events;
using Shipper.Module.Registry;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// Encodes events into a <c>_bulk</c> NDJSON body: per event a <c>create</c> action line and the document,
/// each ending in <c>\n</c>, gzip-compressed on the fly when a compression level is set. Every document is
/// written once into a reused scratch buffer (the index may depend on its fields), then copied into the
/// pooled body. Documents carry no <c>@metadata</c> (libbeat never sends it to Elasticsearch), and neither do
/// the dead-letter copies of them. One encoder serves one request at a time.
/// </summary>
public sealed class BulkEncoder : IDisposable
{
    private static readonly byte[] CreatePrefix = "{\"create\":{\"_index\":"u8.ToArray();
    private static readonly byte[] PipelinePart = ",\"pipeline\":"u8.ToArray();
    private static readonly byte[] ActionSuffix = "}}\n"u8.ToArray();

    private readonly DocumentWriter _documents;
    private readonly EventFormatter _index;
    private readonly EventFormatter? _pipeline;
    private readonly string? _deadLetterIndex;
    private readonly ConditionalWeakTable<Event, DeadLetterMark> _deadLetters;
    private readonly int _compressionLevel;
    private readonly ArrayBufferWriter<byte> _scratch = new(4096);
    private readonly ArrayBufferWriter<byte> _deadLetterScratch = new(4096);
    private readonly ArrayBufferWriter<byte> _line = new(4096);
    private readonly Utf8JsonWriter _json;
    private readonly Utf8JsonWriter _deadLetterJson;

    private string? _actionIndex;
    private string? _actionPipeline;
    private byte[] _action = Array.Empty<byte>();
    private byte[]? _deadLetterAction;

    private BulkBufferStream? _sink;
    private GZipStream? _gzip;

    public BulkEncoder(
        DocumentWriter documents,
        EventFormatter index,
        EventFormatter? pipeline,
        int compressionLevel,
        bool escapeHtml,
        string? deadLetterIndex,
        ConditionalWeakTable<Event, DeadLetterMark> deadLetters)
    {
        _documents = documents;
        _index = index;
        _pipeline = pipeline;
        _compressionLevel = compressionLevel;
        _deadLetterIndex = deadLetterIndex;
        _deadLetters = deadLetters;
        var options = new JsonWriterOptions
        {
            // libbeat's escape_html: false keeps <, > and & and non-ASCII text as they are.
            Encoder = escapeHtml ? JavaScriptEncoder.Default : JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            SkipValidation = true,
        };
        _json = new Utf8JsonWriter(_scratch, options);
        _deadLetterJson = new Utf8JsonWriter(_deadLetterScratch, options);
    }

    public BulkBuffer Body { get; } = new();

    /// <summary>Scratch for parsing the reply to this encoder's request.</summary>
    public List<BulkItemResult> Results { get; } = new();

    public bool Compressed => _compressionLevel > 0;

    /// <summary>Uncompressed NDJSON bytes of the current body.</summary>
    public long RawLength { get; private set; }

    /// <summary>How many documents the current body holds.</summary>
    public int Count { get; private set; }

    public void Begin()
    {
        Body.Reset();
        RawLength = 0;
        Count = 0;
        if (Compressed)
        {
            _sink = new BulkBufferStream(Body);
            _gzip = new GZipStream(_sink, new ZLibCompressionOptions { CompressionLevel = _compressionLevel }, leaveOpen: true);
        }
    }

    /// <summary>
    /// Adds one event. Returns false (and why) when the event cannot be addressed: its index or pipeline
    /// names a field the document does not have.
    /// </summary>
    public bool TryAdd(Event evt, out string? problem)
    {
        problem = null;
        _scratch.ResetWrittenCount();
        _json.Reset(_scratch);
        _documents.Write(_json, evt);
        _json.Flush();
        var document = _scratch.WrittenSpan;

        // A raw newline (from a body writing raw JSON) would split the document and wreck the whole request.
        if (document.IndexOf((byte)'\n') >= 0)
        {
            problem = "its JSON contains a raw newline, which would break the bulk request";
            return false;
        }

        if (_deadLetterIndex is not null && _deadLetters.TryGetValue(evt, out var mark))
        {
            WriteDeadLetter(evt, document, mark);
            return true;
        }

        if (!_index.TryFormat(evt, document, out var index, out var missing))
        {
            problem = $"the index format '{_index}' needs the field [{missing}], which the event does not have";
            return false;
        }

        string? pipeline = null;
        if (_pipeline is not null && !_pipeline.TryFormat(evt, document, out pipeline, out missing))
        {
            problem = $"the pipeline format needs the field [{missing}], which the event does not have";
            return false;
        }

        if (!ReferenceEquals(index, _actionIndex) || !ReferenceEquals(pipeline, _actionPipeline))
        {
            _action = BuildAction(index, pipeline);
            _actionIndex = index;
            _actionPipeline = pipeline;
        }

        AppendLine(_action, document);
        Count++;
        return true;
    }

    /// <summary>Completes the body (flushes the gzip trailer).</summary>
    public void Finish()
    {
        if (_gzip is not null)
        {
            _gzip.Dispose();
            _gzip = null;
            _sink = null;
        }
    }

    public void Dispose()
    {
        _gzip?.Dispose();
        _json.Dispose();
        _deadLetterJson.Dispose();
        Body.Dispose();
    }

    /// <summary>The dead-letter document, as libbeat writes it: the original as text plus the rejection.</summary>
    private void WriteDeadLetter(Event evt, ReadOnlySpan<byte> document, DeadLetterMark mark)
    {
        _deadLetterScratch.ResetWrittenCount();
        _deadLetterJson.Reset(_deadLetterScratch);
        _deadLetterJson.WriteStartObject();
        _deadLetterJson.WritePropertyName("@timestamp");
        DocumentWriter.WriteTimestamp(_deadLetterJson, evt.Timestamp);
        _deadLetterJson.WriteString("message", document);
        _deadLetterJson.WriteStartObject("error");
        _deadLetterJson.WriteNumber("type", mark.Status);
        _deadLetterJson.WriteString("message", mark.Error);
        _deadLetterJson.WriteEndObject();
        _deadLetterJson.WriteEndObject();
        _deadLetterJson.Flush();

        _deadLetterAction ??= BuildAction(_deadLetterIndex!, null);
        AppendLine(_deadLetterAction, _deadLetterScratch.WrittenSpan);
        Count++;
    }

    private static byte[] BuildAction(string index, string? pipeline)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        buffer.Write(CreatePrefix);
        WriteJsonString(buffer, index);
        if (pipeline is not null)
        {
            buffer.Write(PipelinePart);
            WriteJsonString(buffer, pipeline);
        }

        buffer.Write(ActionSuffix);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteJsonString(ArrayBufferWriter<byte> buffer, string value)
    {
        using var writer = new Utf8JsonWriter(buffer);
        writer.WriteStringValue(value);
    }

    /// <summary>Action line, document and newline; gzip gets them as one write (each write is a call into zlib).</summary>
    private void AppendLine(ReadOnlySpan<byte> action, ReadOnlySpan<byte> document)
    {
        RawLength += action.Length + document.Length + 1;
        if (_gzip is not null)
        {
            _line.ResetWrittenCount();
            _line.Write(action);
            _line.Write(document);
            _line.Write("\n"u8);
            _gzip.Write(_line.WrittenSpan);
        }
        else
        {
            Body.Write(action);
            Body.Write(document);
            Body.WriteByte((byte)'\n');
        }
    }
}
