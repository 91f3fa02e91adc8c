using System.Collections.Concurrent;
using Shipper.Module.Registry;
using Shipper.Module.System.Process.Documents;

namespace Shipper.Tests.Support;

/// <summary>A reporter that keeps what a dataset or stage publishes.</summary>
public sealed class CollectingReporter : IEventReporter
{
    public ConcurrentQueue<Event> Events { get; } = new();

    public List<ProcessDocument> Documents() => Events.Select(e => (ProcessDocument)e.Body).ToList();

    public ValueTask PublishAsync(Event evt, CancellationToken cancellationToken)
    {
        Events.Enqueue(evt);
        return ValueTask.CompletedTask;
    }
}
