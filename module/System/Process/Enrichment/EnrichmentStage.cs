using global::System.Threading.Channels;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Tracking;

namespace Shipper.Module.System.Process.Enrichment;

/// <summary>
/// Stage 3 of the pipeline: maps tracker reports to documents, asks the hash source for each executable and
/// publishes the documents in report order. Two loops joined by a bounded window: the first maps and starts
/// hash requests without waiting for them; the second waits for the oldest document's hashes (at most
/// <see cref="IExecutableHashSource.MaxWait"/> from the request) and publishes it. A slow hash therefore delays
/// at most its own document's publication by max_wait, never the tracker loop; the tracker only waits when the
/// window and the report channel are both full (back-pressure from the output).
/// Cancellation is the shutdown deadline: a document not yet handed to the reporter then is dropped and its
/// kernel events counted in <c>process.stop_dropped_events</c> (one the reporter gave up on is the reporter's to
/// count); <see cref="DropUnpublished"/> counts what was still queued.
/// </summary>
public sealed class EnrichmentStage
{
    public const int DefaultWindow = 1024;

    private readonly ChannelReader<ProcessReport> _reports;
    private readonly ProcessDocumentMapper _mapper;
    private readonly IExecutableHashSource? _hashes;
    private readonly IEventReporter _reporter;
    private readonly TimeProvider _time;
    private readonly ProcessMetrics _metrics;
    private readonly Counter _hashTimeouts;
    private readonly Channel<Pending> _window;
    private int _droppedDocuments;
    private long _droppedEvents;

    public EnrichmentStage(
        ChannelReader<ProcessReport> reports,
        ProcessDocumentMapper mapper,
        IExecutableHashSource? hashes,
        IEventReporter reporter,
        TimeProvider time,
        ProcessMetrics metrics,
        MetricsRegistry registry,
        int window = DefaultWindow)
    {
        _reports = reports;
        _mapper = mapper;
        _hashes = hashes;
        _reporter = reporter;
        _time = time;
        _metrics = metrics;
        _hashTimeouts = registry.Counter("process.hash.timeouts");
        _window = Channel.CreateBounded<Pending>(new BoundedChannelOptions(window)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Documents mapped but not yet published (waiting for hashes or for the publisher).</summary>
    public int InFlight => _window.Reader.Count;

    /// <summary>Runs until the report channel completes (then publishes everything left) or until cancelled (the shutdown deadline).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var mapping = MapAsync(cancellationToken);
        var publishing = PublishAsync(cancellationToken);
        try
        {
            await mapping.ConfigureAwait(false);
        }
        finally
        {
            await publishing.ConfigureAwait(false);
        }
    }

    private async Task MapAsync(CancellationToken cancellationToken)
    {
        Exception? failure = null;
        try
        {
            await foreach (var report in _reports.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var document = _mapper.Map(report);
                var pending = new Pending(document, StartHash(document, cancellationToken), _time.GetTimestamp(), report.Observations);
                if (!_window.Writer.TryWrite(pending))
                {
                    try
                    {
                        await _window.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        Drop(pending.Observations);
                        throw;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            failure = ex;
            throw;
        }
        finally
        {
            _window.Writer.TryComplete(failure);
        }
    }

    private ValueTask<ExecutableHashResult>? StartHash(ProcessDocument document, CancellationToken cancellationToken)
    {
        if (_hashes is null || document.Executable is not { Length: > 0 } executable || executable[0] != '/')
        {
            return null;
        }

        try
        {
            return _hashes.HashAsync(new ExecutableHashRequest(document.Pid, executable, document.MountNamespace, document.ExecutableIdentity), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ValueTask.FromResult(ExecutableHashResult.Failed($"hashing {executable} failed: {ex.Message}"));
        }
    }

    private async Task PublishAsync(CancellationToken cancellationToken)
    {
        await foreach (var pending in _window.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (pending.Hash is { } hash)
            {
                try
                {
                    await ApplyHashAsync(pending.Document, hash, pending.StartedAt, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Drop(pending.Observations);
                    throw;
                }
            }

            // A publish cancelled at the deadline is counted by the publisher (pipeline.events.dropped), not here.
            await _reporter.PublishAsync(pending.Document.ToEvent(), cancellationToken).ConfigureAwait(false);
            _metrics.Documents.Increment();
        }
    }

    private async ValueTask ApplyHashAsync(ProcessDocument document, ValueTask<ExecutableHashResult> hash, long startedAt, CancellationToken cancellationToken)
    {
        ExecutableHashResult result;
        try
        {
            if (hash.IsCompleted)
            {
                result = hash.Result;
            }
            else
            {
                var maxWait = _hashes!.MaxWait;
                var remaining = maxWait - _time.GetElapsedTime(startedAt);
                if (remaining <= TimeSpan.Zero)
                {
                    remaining = TimeSpan.Zero;
                }

                result = await hash.AsTask().WaitAsync(remaining, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            _hashTimeouts.Increment();
            _metrics.EnrichmentFailure("hash_timeout");
            document.AddError($"hash of {document.Executable} not ready within {_hashes!.MaxWait.TotalMilliseconds:0} ms");
            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _metrics.EnrichmentFailure("hash_error");
            document.AddError($"hashing {document.Executable} failed: {ex.Message}");
            return;
        }

        foreach (var digest in result.Digests)
        {
            document.AddHash(digest);
        }

        if (result.Error is { } error)
        {
            _metrics.EnrichmentFailure("hash_error");
            document.AddError(error);
        }
    }

    /// <summary>
    /// After the stage and the tracker stopped (the report channel is complete): counts the documents still in the
    /// window and the reports still in the channel as dropped. Returns how many documents and kernel events the stage
    /// dropped in all.
    /// </summary>
    public (int Documents, long Events) DropUnpublished()
    {
        var documents = 0;
        long events = 0;
        while (_window.Reader.TryRead(out var pending))
        {
            documents++;
            events += pending.Observations;
        }

        while (_reports.TryRead(out var report))
        {
            documents++;
            events += report.Observations;
        }

        _metrics.StopDroppedEvents.Add(events);
        return (Interlocked.Add(ref _droppedDocuments, documents), Interlocked.Add(ref _droppedEvents, events));
    }

    /// <summary>A document given up on at the deadline (the map and publish loops both call it).</summary>
    private void Drop(int observations)
    {
        Interlocked.Increment(ref _droppedDocuments);
        Interlocked.Add(ref _droppedEvents, observations);
        _metrics.StopDroppedEvents.Add(observations);
    }

    private readonly record struct Pending(ProcessDocument Document, ValueTask<ExecutableHashResult>? Hash, long StartedAt, int Observations);
}
