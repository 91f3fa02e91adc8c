using System.Buffers;
using System.Text.Json;
using Shipper.Config;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;

namespace Shipper.Outputs.Console;

/// <summary>
/// <c>output.console</c>: one JSON document per line (NDJSON) on stdout, or indented with <c>pretty</c>.
/// A batch is encoded into one pooled buffer and written and flushed in one go, so a reader never sees half
/// a batch interleaved with anything else. Logs never go to stdout. Documents carry <c>@metadata</c> here, as
/// libbeat's console output shows it; Elasticsearch never gets it.
/// </summary>
public sealed class ConsoleOutput : IOutput
{
    private static readonly byte[] NewLine = { (byte)'\n' };

    private readonly Stream _stdout;
    private readonly DocumentWriter _documents;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private readonly Counter _writeBytes;
    private readonly Counter _writeErrors;
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly Utf8JsonWriter _json;

    public ConsoleOutput(ConsoleOutputSettings settings, Stream stdout, DocumentWriter documents, MetricsRegistry metrics, Logger log, TimeProvider time)
    {
        _stdout = stdout;
        _documents = documents;
        _log = log;
        _time = time;
        _writeBytes = metrics.Counter("output.write.bytes");
        _writeErrors = metrics.Counter("output.write.errors");
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions
        {
            Indented = settings.Pretty,
            // Documents are data, not HTML: keep '<', '&', non-ASCII readable as beats do.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
    }

    public string Name => "console";

    public async Task<PublishResult> PublishAsync(IReadOnlyList<Event> batch, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        foreach (var evt in batch)
        {
            _json.Reset(_buffer);
            _documents.WriteWithMetadata(_json, evt);
            _json.Flush();
            _buffer.Write(NewLine);
        }

        try
        {
            await _stdout.WriteAsync(_buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            await _stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            _writeBytes.Add(_buffer.WrittenCount);
            return PublishResult.AllAcked(batch.Count);
        }
        catch (IOException e)
        {
            // Stdout closed or full disk behind a redirect: keep the events and try again after a pause.
            _writeErrors.Increment();
            var error = $"cannot write to stdout: {e.Message}";
            _log.Error(error + "; retrying in 1s");
            await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
            return new PublishResult(0, 0, batch, error);
        }
    }

    public ValueTask DisposeAsync()
    {
        _json.Dispose();
        return ValueTask.CompletedTask;
    }
}
