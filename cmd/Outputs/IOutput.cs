using Shipper.Module.Registry;

namespace Shipper.Outputs;

/// <summary>
/// The one contract between the publisher and an output. The publisher hands over a batch and requeues
/// whatever comes back in <see cref="PublishResult.Retry"/>; an output that wants to back off waits (on its
/// injected clock) before it returns a retry. Cancellation means the shipper is shutting down: return what
/// was confirmed so far and put the rest in Retry.
/// </summary>
public interface IOutput : IAsyncDisposable
{
    /// <summary>Config name: <c>console</c>, <c>elasticsearch</c>.</summary>
    string Name { get; }

    Task<PublishResult> PublishAsync(IReadOnlyList<Event> batch, CancellationToken cancellationToken);
}
