namespace Shipper.Module.Registry;

/// <summary>
/// What a dataset publishes through. <see cref="PublishAsync"/> waits while the publisher's queue is full
/// (back-pressure); it never drops an event silently.
/// </summary>
public interface IEventReporter
{
    ValueTask PublishAsync(Event evt, CancellationToken cancellationToken);
}
