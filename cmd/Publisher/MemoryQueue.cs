using System.Threading.Channels;
using Shipper.Config;
using Shipper.Module.Registry;

namespace Shipper.Publisher;

/// <summary><c>queue.mem</c>: a bounded channel; what it holds is lost when the worker stops or dies.</summary>
public sealed class MemoryQueue : IEventQueue
{
    private readonly Channel<Event> _channel;
    private readonly int _capacity;

    public MemoryQueue(QueueSettings settings, bool singleReader)
    {
        _capacity = settings.Events;
        _channel = Channel.CreateBounded<Event>(new BoundedChannelOptions(settings.Events)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = singleReader,
            SingleWriter = false,
        });
    }

    public string Type => "mem";

    public long Count => _channel.Reader.Count;

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

    public bool TryAdd(Event evt) => _channel.Writer.TryWrite(evt);

    public ValueTask AddAsync(Event evt, CancellationToken cancellationToken) => _channel.Writer.WriteAsync(evt, cancellationToken);

    public void Done(IReadOnlyList<Event> batch, IReadOnlyList<Event> retry)
    {
    }

    public Task<long> CloseAddingAsync(TimeSpan timeout)
    {
        _channel.Writer.TryComplete();
        return Task.FromResult(0L);
    }

    public IEnumerable<string> Diagnostics()
    {
        yield return $"queue mem: {_channel.Reader.Count}/{_capacity} events";
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
