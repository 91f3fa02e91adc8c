using System.Threading.Channels;
using Shipper.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Outputs;
using Shipper.Watchdog;

namespace Shipper.Publisher;

/// <summary>
/// The publisher: the queue between the datasets and the output (<see cref="MemoryQueue"/> or
/// <see cref="Disk.DiskQueue"/>), batching, and acknowledgement accounting. An event counts as published only
/// when the output confirms it. A full queue makes producers wait (back-pressure, counted in
/// <c>pipeline.queue.blocked</c>); nothing is dropped silently. Batches go out when full (the output's batch
/// size), when <c>flush.min_events</c> have gathered and the queue is not refilling
/// (<see cref="IEventQueue.IsRefilling"/>), when the queue has stayed empty for <see cref="IdleGap"/> (an idle
/// queue flushes at once), or at the latest after <c>flush.timeout</c>.
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

    private readonly IEventQueue _queue;
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
    private readonly Counter _eventsKept;
    private readonly Gauge _eventsActive;
    private readonly Counter _queueAcked;
    private readonly Counter _queueBlocked;
    private readonly Counter _outBatches;
    private readonly Counter _outTotal;
    private readonly Counter _outAcked;
    private readonly Counter _outFailed;
    private readonly Counter _outDropped;

    /// <summary>How the workers gather batches: the memory queue's settings in effect (a preset's, if one applies).</summary>
    public QueueSettings Batching => _settings;

    private long _lastAckTicks;
    private string? _lastError;
    private int _inFlight;

    /// <summary>A publisher with the memory queue <c>queue.mem</c> describes.</summary>
    public Pipeline(QueueSettings settings, IOutput output, int batchSize, int workers, MetricsRegistry metrics, Logger log, TimeProvider time)
        : this(new MemoryQueue(settings, singleReader: workers <= 1), settings, output, batchSize, workers, metrics, log, time)
    {
        metrics.Gauge("pipeline.queue.max_events").Set(settings.Events);
        metrics.Gauge("pipeline.queue.max_bytes").Set(settings.Bytes);
        var queue = (MemoryQueue)_queue;
        metrics.GaugeFunc("pipeline.queue.filled.bytes", () => queue.Bytes);
    }

    /// <summary>A publisher on <paramref name="queue"/>; <paramref name="batching"/> says how workers gather batches from it.</summary>
    public Pipeline(IEventQueue queue, QueueSettings batching, IOutput output, int batchSize, int workers, MetricsRegistry metrics, Logger log, TimeProvider time)
    {
        _queue = queue;
        _settings = batching;
        _output = output;
        _batchSize = Math.Max(1, batchSize);
        _workerCount = Math.Max(1, workers);
        _log = log;
        _time = time;

        _eventsTotal = metrics.Counter("pipeline.events.total");
        _eventsPublished = metrics.Counter("pipeline.events.published");
        _eventsFailed = metrics.Counter("pipeline.events.failed");
        _eventsDropped = metrics.Counter("pipeline.events.dropped");
        _eventsRetry = metrics.Counter("pipeline.events.retry");
        _eventsUndelivered = metrics.Counter("pipeline.events.undelivered");
        _eventsKept = metrics.Counter("pipeline.events.kept_in_queue");
        _eventsActive = metrics.Gauge("pipeline.events.active");
        _queueAcked = metrics.Counter("pipeline.queue.acked");
        _queueBlocked = metrics.Counter("pipeline.queue.blocked");
        metrics.GaugeFunc("pipeline.queue.filled.events", () => _queue.Count);
        _outBatches = metrics.Counter("output.events.batches");
        _outTotal = metrics.Counter("output.events.total");
        _outAcked = metrics.Counter("output.events.acked");
        _outFailed = metrics.Counter("output.events.failed");
        _outDropped = metrics.Counter("output.events.dropped");
        _lastAckTicks = time.GetUtcNow().UtcTicks;
        _queue.EventsDropped += count =>
        {
            _eventsDropped.Add(count);
            _eventsActive.Add(-count);
        };
    }

    public IEventQueue Queue => _queue;

    /// <summary>Events accepted but not yet acknowledged or dropped.</summary>
    public long ActiveEvents => _eventsActive.Value;

    /// <summary>Events in the queue (memory: waiting to be handed to the output; disk: not yet acknowledged).</summary>
    public long QueuedEvents => _queue.Count;

    public DateTimeOffset LastAck => new(Interlocked.Read(ref _lastAckTicks), TimeSpan.Zero);

    public string? LastOutputError => Volatile.Read(ref _lastError);

    public void Start()
    {
        // Events an earlier run left in the disk queue are this run's to deliver: they enter the ledger here.
        _eventsActive.Add(_queue.Recovered);
        for (var i = 0; i < _workerCount; i++)
        {
            _workers.Add(Task.Run(() => RunWorkerAsync(_outputStop.Token)));
        }
    }

    public ValueTask PublishAsync(Event evt, CancellationToken cancellationToken)
    {
        _eventsTotal.Increment();
        _eventsActive.Add(1);
        if (_queue.TryAdd(evt))
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
            await _queue.AddAsync(evt, cancellationToken).ConfigureAwait(false);
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
    /// Stops accepting events and finishes within <paramref name="timeout"/>. With the memory queue it delivers
    /// what is queued, then stops the output and waits at most <see cref="OutputStopGrace"/> for its workers;
    /// whatever is left is lost, logged with its count and counted in <c>pipeline.events.undelivered</c>. With
    /// the disk queue nothing needs delivering: once every accepted event is written, the output is stopped at
    /// once and what it has not confirmed is kept for the next start (<see cref="KeptEvents"/>,
    /// <c>pipeline.events.kept_in_queue</c>). Returns how many events are lost.
    /// </summary>
    public async Task<long> DrainAsync(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero)
        {
            timeout = TimeSpan.Zero;
        }

        var started = _time.GetTimestamp();
        var unwritten = await _queue.CloseAddingAsync(timeout).ConfigureAwait(false);
        var all = Task.WhenAll(_workers);
        if (_queue.KeepsEventsAcrossRestarts)
        {
            _outputStop.Cancel();
            await StopWorkersAsync(all).ConfigureAwait(false);
        }
        else
        {
            try
            {
                await all.WaitAsync(timeout - _time.GetElapsedTime(started) is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _log.Warn($"shutdown timeout of {timeout.TotalSeconds:0.###}s reached with {ActiveEvents} events unacknowledged; stopping the output");
                _outputStop.Cancel();
                await StopWorkersAsync(all).ConfigureAwait(false);
            }
        }

        await _queue.DisposeAsync().ConfigureAwait(false);

        // Whatever is still active now was accepted and never acknowledged or dropped: queued, in flight, or
        // waiting to be retried. It leaves the active count for the undelivered one (or, for what the disk queue
        // holds, the kept one), so the ledger closes.
        var active = ActiveEvents;
        var lost = _queue.KeepsEventsAcrossRestarts ? Math.Min(unwritten, active) : active;
        var kept = active - lost;
        if (lost > 0)
        {
            _eventsUndelivered.Add(lost);
            _eventsActive.Add(-lost);
            _log.Error($"{lost} events could not be delivered before shutdown and are lost");
        }

        if (kept > 0)
        {
            _eventsKept.Add(kept);
            _eventsActive.Add(-kept);
            KeptEvents = kept;
            _log.Info($"{kept} events not yet acknowledged by the output stay in the disk queue; the next start sends them");
        }

        return lost;
    }

    /// <summary>Events the disk queue keeps for the next start, known once <see cref="DrainAsync"/> returned.</summary>
    public long KeptEvents { get; private set; }

    private async Task StopWorkersAsync(Task all)
    {
        try
        {
            await all.WaitAsync(OutputStopGrace, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.Error($"output {_output.Name} did not stop within {OutputStopGrace.TotalSeconds:0.###}s of being cancelled; leaving it behind");
        }
    }

    public IEnumerable<string> Diagnostics()
    {
        yield return $"publisher: {ActiveEvents} unacknowledged, {Volatile.Read(ref _inFlight)} in flight, last ack {LastAck:O}, last output error: {LastOutputError ?? "none"}";
        foreach (var line in _queue.Diagnostics())
        {
            yield return line;
        }
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

            // A queue still refilling (the disk queue reading its backlog) gets to complete the batch: a full
            // batch costs the output far less per event than a few short ones.
            if ((batch.Count >= _settings.FlushMinEvents && !_queue.IsRefilling) || reader.Completion.IsCompleted)
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
        _queue.Done(batch, result.Retry);
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
