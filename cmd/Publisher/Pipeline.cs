using System.Threading.Channels;
using Shipper.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Outputs;
using Shipper.Watchdog;

namespace Shipper.Publisher;

/// <summary>
/// The publisher: a bounded in-memory queue between the datasets and the output, batching, and
/// acknowledgement accounting. An event counts as published only when the output confirms it. A full queue
/// makes producers wait (back-pressure, counted in <c>pipeline.queue.blocked</c>); nothing is dropped
/// silently. Batches go out when full (the output's batch size), when <c>flush.min_events</c> have gathered,
/// when the queue has stayed empty for <see cref="IdleGap"/> (an idle queue flushes at once), or at the
/// latest after <c>flush.timeout</c>.
/// </summary>
public sealed class Pipeline : IEventReporter, IPublisherProgress
{
    /// <summary>How long an empty queue is given to receive more before a partial batch goes out.</summary>
    public static readonly TimeSpan IdleGap = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// How long the output workers get to return once the output was told to stop (cancellation): an output
    /// honouring the contract returns at once; one that does not is left behind rather than holding the stop.
    /// </summary>
    public static readonly TimeSpan OutputStopGrace = TimeSpan.FromSeconds(1);

    private readonly Channel<Event> _queue;
    private readonly QueueSettings _settings;
    private readonly IOutput _output;
    private readonly int _batchSize;
    private readonly int _workerCount;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _outputStop = new();
    private readonly List<Task> _workers = new();

    private readonly Counter _eventsTotal;
    private readonly Counter _eventsPublished;
    private readonly Counter _eventsFailed;
    private readonly Counter _eventsDropped;
    private readonly Counter _eventsRetry;
    private readonly Counter _eventsUndelivered;
    private readonly Gauge _eventsActive;
    private readonly Counter _queueAcked;
    private readonly Counter _queueBlocked;
    private readonly Counter _outBatches;
    private readonly Counter _outTotal;
    private readonly Counter _outAcked;
    private readonly Counter _outFailed;
    private readonly Counter _outDropped;

    private long _lastAckTicks;
    private string? _lastError;
    private int _inFlight;

    public Pipeline(QueueSettings settings, IOutput output, int batchSize, int workers, MetricsRegistry metrics, Logger log, TimeProvider time)
    {
        _settings = settings;
        _output = output;
        _batchSize = Math.Max(1, batchSize);
        _workerCount = Math.Max(1, workers);
        _log = log;
        _time = time;
        _queue = Channel.CreateBounded<Event>(new BoundedChannelOptions(settings.Events)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = _workerCount == 1,
            SingleWriter = false,
        });

        _eventsTotal = metrics.Counter("pipeline.events.total");
        _eventsPublished = metrics.Counter("pipeline.events.published");
        _eventsFailed = metrics.Counter("pipeline.events.failed");
        _eventsDropped = metrics.Counter("pipeline.events.dropped");
        _eventsRetry = metrics.Counter("pipeline.events.retry");
        _eventsUndelivered = metrics.Counter("pipeline.events.undelivered");
        _eventsActive = metrics.Gauge("pipeline.events.active");
        _queueAcked = metrics.Counter("pipeline.queue.acked");
        _queueBlocked = metrics.Counter("pipeline.queue.blocked");
        metrics.Gauge("pipeline.queue.max_events").Set(settings.Events);
        metrics.GaugeFunc("pipeline.queue.filled.events", () => _queue.Reader.Count);
        _outBatches = metrics.Counter("output.events.batches");
        _outTotal = metrics.Counter("output.events.total");
        _outAcked = metrics.Counter("output.events.acked");
        _outFailed = metrics.Counter("output.events.failed");
        _outDropped = metrics.Counter("output.events.dropped");
        _lastAckTicks = time.GetUtcNow().UtcTicks;
    }

    /// <summary>Events accepted but not yet acknowledged or dropped.</summary>
    public long ActiveEvents => _eventsActive.Value;

    /// <summary>Events waiting in the queue (not yet handed to the output).</summary>
    public int QueuedEvents => _queue.Reader.Count;

    public DateTimeOffset LastAck => new(Interlocked.Read(ref _lastAckTicks), TimeSpan.Zero);

    public string? LastOutputError => Volatile.Read(ref _lastError);

    public void Start()
    {
        for (var i = 0; i < _workerCount; i++)
        {
            _workers.Add(Task.Run(() => RunWorkerAsync(_outputStop.Token)));
        }
    }

    public ValueTask PublishAsync(Event evt, CancellationToken cancellationToken)
    {
        _eventsTotal.Increment();
        _eventsActive.Add(1);
        if (_queue.Writer.TryWrite(evt))
        {
            return ValueTask.CompletedTask;
        }

        _queueBlocked.Increment();
        return WaitAndWriteAsync(evt, cancellationToken);
    }

    private async ValueTask WaitAndWriteAsync(Event evt, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(evt, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            // The producer gave up (shutdown): this event never entered the queue.
            _eventsActive.Add(-1);
            _eventsDropped.Increment();
            throw;
        }
    }

    /// <summary>
    /// Stops accepting events and delivers what is queued within <paramref name="timeout"/>; then stops the
    /// output and waits at most <see cref="OutputStopGrace"/> for its workers. Returns how many events could not
    /// be delivered: they are logged with their count and counted in <c>pipeline.events.undelivered</c>.
    /// </summary>
    public async Task<long> DrainAsync(TimeSpan timeout)
    {
        _queue.Writer.TryComplete();
        var all = Task.WhenAll(_workers);
        if (timeout < TimeSpan.Zero)
        {
            timeout = TimeSpan.Zero;
        }

        try
        {
            await all.WaitAsync(timeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.Warn($"shutdown timeout of {timeout.TotalSeconds:0.###}s reached with {ActiveEvents} events unacknowledged; stopping the output");
            _outputStop.Cancel();
            try
            {
                await all.WaitAsync(OutputStopGrace, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _log.Error($"output {_output.Name} did not stop within {OutputStopGrace.TotalSeconds:0.###}s of being cancelled; leaving it behind");
            }
        }

        // Whatever is still active now was accepted and never acknowledged or dropped: queued, in flight, or
        // waiting to be retried. It leaves the active count for the undelivered one, so the ledger closes.
        var lost = ActiveEvents;
        if (lost > 0)
        {
            _eventsUndelivered.Add(lost);
            _eventsActive.Add(-lost);
            _log.Error($"{lost} events could not be delivered before shutdown and are lost");
        }

        return lost;
    }

    public IEnumerable<string> Diagnostics()
    {
        yield return $"publisher: queue {_queue.Reader.Count}/{_settings.Events} events, {ActiveEvents} unacknowledged, {Volatile.Read(ref _inFlight)} in flight, last ack {LastAck:O}, last output error: {LastOutputError ?? "none"}";
    }

    private async Task RunWorkerAsync(CancellationToken stop)
    {
        var batch = new List<Event>(_batchSize);
        var retry = new List<Event>();
        try
        {
            while (true)
            {
                batch.Clear();
                if (retry.Count > 0)
                {
                    batch.AddRange(retry);
                    retry.Clear();
                }
                else if (!await GatherAsync(batch, stop).ConfigureAwait(false))
                {
                    return; // queue completed and empty
                }

                await DeliverAsync(batch, retry, stop).ConfigureAwait(false);
                if (stop.IsCancellationRequested)
                {
                    // The output was told to stop and handed back what it could not confirm (the contract):
                    // sending it again would only fail again, as fast as the output returns.
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // What is still in batch or retry stays counted as active: DrainAsync reports it undelivered.
        }
    }

    private async Task<bool> GatherAsync(List<Event> batch, CancellationToken stop)
    {
        var reader = _queue.Reader;
        if (!await reader.WaitToReadAsync(stop).ConfigureAwait(false))
        {
            return false;
        }

        var deadline = _time.GetTimestamp() + (long)(_settings.FlushTimeout.TotalSeconds * _time.TimestampFrequency);
        while (batch.Count < _batchSize)
        {
            if (reader.TryRead(out var evt))
            {
                batch.Add(evt);
                continue;
            }

            if (batch.Count >= _settings.FlushMinEvents || reader.Completion.IsCompleted)
            {
                break;
            }

            var remaining = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }

            var wait = remaining < IdleGap ? remaining : IdleGap;
            using var idle = new CancellationTokenSource(wait, _time);
            using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(stop, idle.Token);
            try
            {
                if (!await reader.WaitToReadAsync(waitCts.Token).ConfigureAwait(false))
                {
                    break; // completed
                }
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                break; // the queue stayed idle: flush what we have
            }
        }

        return batch.Count > 0;
    }

    private async Task DeliverAsync(List<Event> batch, List<Event> retry, CancellationToken stop)
    {
        _outBatches.Increment();
        _outTotal.Add(batch.Count);
        Interlocked.Add(ref _inFlight, batch.Count);
        PublishResult result;
        try
        {
            result = await _output.PublishAsync(batch, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Interlocked.Add(ref _inFlight, -batch.Count);
            throw;
        }
        catch (Exception e)
        {
            // An output must report failures through PublishResult; anything thrown is a bug there, and
            // the events are kept rather than lost.
            Interlocked.Add(ref _inFlight, -batch.Count);
            Volatile.Write(ref _lastError, e.Message);
            _log.Error($"output {_output.Name} failed unexpectedly: {e.Message}; retrying the batch of {batch.Count}");
            _outFailed.Add(batch.Count);
            _eventsRetry.Add(batch.Count);
            retry.AddRange(batch);
            await Task.Delay(TimeSpan.FromSeconds(1), _time, stop).ConfigureAwait(false);
            return;
        }

        Interlocked.Add(ref _inFlight, -batch.Count);
        if (result.Acked + result.Dropped + result.Retry.Count != batch.Count)
        {
            _log.Error($"output {_output.Name} accounted for {result.Acked + result.Dropped + result.Retry.Count} of {batch.Count} events");
        }

        if (result.Acked > 0)
        {
            _eventsPublished.Add(result.Acked);
            _queueAcked.Add(result.Acked);
            _outAcked.Add(result.Acked);
            Interlocked.Exchange(ref _lastAckTicks, _time.GetUtcNow().UtcTicks);
        }

        if (result.Dropped > 0)
        {
            _eventsDropped.Add(result.Dropped);
            _outDropped.Add(result.Dropped);
        }

        _eventsActive.Add(-(result.Acked + result.Dropped));
        if (result.Retry.Count > 0)
        {
            _eventsFailed.Add(result.Retry.Count);
            _outFailed.Add(result.Retry.Count);
            _eventsRetry.Add(result.Retry.Count);
            retry.AddRange(result.Retry);
        }

        Volatile.Write(ref _lastError, result.Error);
    }
}
