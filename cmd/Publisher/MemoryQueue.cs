using System.Threading.Channels;
using Shipper.Config;
using Shipper.Module.Registry;

namespace Shipper.Publisher;

/// <summary>
/// <c>queue.mem</c>: a bounded channel; what it holds is lost when the worker stops or dies. Two bounds, and a
/// producer waits while either is reached: <c>queue.mem.events</c> (the channel's capacity; an event leaves it
/// when an output worker takes it) and <c>queue.mem.bytes</c>, the sum of <see cref="Event.EstimatedBytes"/> of
/// the events added and not yet done with (<see cref="Done"/>: acknowledged or dropped by the output), so
/// events in flight and waiting to be retried count too: they stay in memory as long as queued ones. One event
/// larger than the byte bound is still taken when nothing else is held, or it would wait forever.
/// Thread-safe: producers and output workers call it concurrently; <see cref="_gate"/> keeps the byte count
/// and the channel write one step, so an event is never done with before its bytes were counted.
/// </summary>
public sealed class MemoryQueue : IEventQueue
{
    private readonly Channel<Event> _channel;
    private readonly int _capacity;
    private readonly long _maxBytes;
    private readonly Lock _gate = new();
    private long _bytes;
    private bool _closed;

    // Completed (and replaced) whenever bytes are freed: producers waiting for room on the byte bound wait on it.
    private TaskCompletionSource? _bytesFreed;

    public MemoryQueue(QueueSettings settings, bool singleReader)
    {
        _capacity = settings.Events;
        _maxBytes = settings.Bytes;
        _channel = Channel.CreateBounded<Event>(new BoundedChannelOptions(settings.Events)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = singleReader,
            SingleWriter = false,
        });
    }

    public string Type => "mem";

    public long Count => _channel.Reader.Count;

    /// <summary>Estimated bytes of the events added and not yet done with (queued, in flight or to be retried).</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    public long Recovered => 0;

    public bool KeepsEventsAcrossRestarts => false;

    public ChannelReader<Event> Reader => _channel.Reader;

    /// <summary>Always false: what the producers have added is all in <see cref="Reader"/> already.</summary>
    public bool IsRefilling => false;

    /// <summary>Never raised: the memory queue drops nothing (a full queue makes producers wait).</summary>
    public event Action<int>? EventsDropped
    {
        add { }
        remove { }
    }

    public bool TryAdd(Event evt) => TryAdd(evt, evt.EstimatedBytes, out _);

    public async ValueTask AddAsync(Event evt, CancellationToken cancellationToken)
    {
        var size = evt.EstimatedBytes;
        while (true)
        {
            if (TryAdd(evt, size, out var bytesFreed))
            {
                return;
            }

            if (bytesFreed is not null)
            {
                await bytesFreed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (!await _channel.Writer.WaitToWriteAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new ChannelClosedException();
            }
        }
    }

    /// <summary>False when a bound is reached; then <paramref name="bytesFreed"/> is what to wait for when it is the byte bound.</summary>
    private bool TryAdd(Event evt, long size, out Task? bytesFreed)
    {
        lock (_gate)
        {
            bytesFreed = null;
            if (_closed)
            {
                return false; // AddAsync then finds the channel completed and throws, as a channel writer does
            }

            if (_bytes > 0 && _bytes + size > _maxBytes)
            {
                _bytesFreed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                bytesFreed = _bytesFreed.Task;
                return false;
            }

            if (!_channel.Writer.TryWrite(evt))
            {
                return false;
            }

            _bytes += size;
            return true;
        }
    }

    public void Done(IReadOnlyList<Event> batch, IReadOnlyList<Event> retry)
    {
        // Retried events are a subset of the batch and stay held until a later batch is done with them.
        long freed = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            freed += batch[i].EstimatedBytes;
        }

        for (var i = 0; i < retry.Count; i++)
        {
            freed -= retry[i].EstimatedBytes;
        }

        if (freed == 0)
        {
            return;
        }

        lock (_gate)
        {
            _bytes -= freed;
            WakeWaiters();
        }
    }

    public Task<long> CloseAddingAsync(TimeSpan timeout)
    {
        lock (_gate)
        {
            _closed = true;
            _channel.Writer.TryComplete();
            WakeWaiters(); // they find the queue closed and give up, as channel writers do
        }

        return Task.FromResult(0L);
    }

    private void WakeWaiters()
    {
        _bytesFreed?.TrySetResult();
        _bytesFreed = null;
    }

    public IEnumerable<string> Diagnostics()
    {
        yield return $"queue mem: {_channel.Reader.Count}/{_capacity} events, {Bytes}/{_maxBytes} bytes (estimated, including events in flight)";
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
