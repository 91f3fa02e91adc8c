using System.Threading.Channels;
using Shipper.Module.Registry;

namespace Shipper.Publisher;

/// <summary>
/// Where the publisher keeps accepted events until the output has confirmed them: in memory
/// (<see cref="MemoryQueue"/>) or on disk (<see cref="Disk.DiskQueue"/>). Producers add, the output workers
/// read from <see cref="Reader"/> and report back what became of every event they read.
/// </summary>
public interface IEventQueue : IAsyncDisposable
{
    /// <summary>libbeat's queue type name: <c>mem</c> or <c>disk</c>.</summary>
    string Type { get; }

    /// <summary>Events in the queue that the output has not confirmed yet.</summary>
    long Count { get; }

    /// <summary>Events recovered from an earlier run, counted once at start (0 for the memory queue).</summary>
    long Recovered { get; }

    ChannelReader<Event> Reader { get; }

    /// <summary>
    /// True while more events are on their way into <see cref="Reader"/> at once: the disk queue's reader has a
    /// backlog on disk to read. A worker filling a batch waits for them rather than sending a short batch.
    /// </summary>
    bool IsRefilling { get; }

    /// <summary>Adds an event if there is room at once.</summary>
    bool TryAdd(Event evt);

    /// <summary>Adds an event, waiting while the queue is full.</summary>
    ValueTask AddAsync(Event evt, CancellationToken cancellationToken);

    /// <summary>
    /// The output is done with <paramref name="batch"/> (acknowledged or dropped) except for the events in
    /// <paramref name="retry"/>, which the worker sends again.
    /// </summary>
    void Done(IReadOnlyList<Event> batch, IReadOnlyList<Event> retry);

    /// <summary>
    /// No more events will be added. Returns once every added event is as safe as this queue makes it (for the
    /// disk queue: written and synced), or when <paramref name="timeout"/> ends; returns how many added events
    /// did not get there (they are lost).
    /// </summary>
    Task<long> CloseAddingAsync(TimeSpan timeout);

    /// <summary>Raised for events the queue itself gave up on (each also counted under the queue's own name).</summary>
    event Action<int>? EventsDropped;

    /// <summary>True when what the output has not confirmed survives a stop and is delivered by the next start.</summary>
    bool KeepsEventsAcrossRestarts { get; }

    IEnumerable<string> Diagnostics();
}
