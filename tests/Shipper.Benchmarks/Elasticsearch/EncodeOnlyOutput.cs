using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Shipper.Events;
using Shipper.Module.Registry;
using Shipper.Outputs;

namespace Shipper.Benchmarks.Elasticsearch;

/// <summary>
/// An output that encodes every document as the Elasticsearch output does (compact, relaxed escaping, so a
/// disk queue's stored document is copied raw) and acknowledges it at once: no socket, no gzip, no server.
/// Used by the disk queue benchmark's <c>--output encode</c> to show the queue's own cost without the
/// loopback server's CPU and scheduling noise on a small machine.
/// </summary>
public sealed class EncodeOnlyOutput : IOutput
{
    private static readonly IReadOnlyList<Event> NoRetry = Array.Empty<Event>();

    private readonly DocumentWriter _documents;
    private readonly object _lock = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(1024 * 1024);
    private readonly Utf8JsonWriter _json;
    private long _bytes;

    public EncodeOnlyOutput(DocumentWriter documents)
    {
        _documents = documents;
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true });
    }

    public string Name => "encode-only";

    /// <summary>Bytes of JSON encoded so far, so the work cannot be optimised away and runs can be compared.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public Task<PublishResult> PublishAsync(IReadOnlyList<Event> batch, CancellationToken cancellationToken)
    {
        // The publisher may call from several workers; one buffer under a lock is enough for a benchmark stub.
        lock (_lock)
        {
            _buffer.ResetWrittenCount();
            _json.Reset(_buffer);
            for (var i = 0; i < batch.Count; i++)
            {
                _documents.Write(_json, batch[i]);
            }

            _json.Flush();
            _bytes += _buffer.WrittenCount;
        }

        return Task.FromResult(new PublishResult(batch.Count, 0, NoRetry));
    }

    public ValueTask DisposeAsync()
    {
        _json.Dispose();
        return ValueTask.CompletedTask;
    }
}
