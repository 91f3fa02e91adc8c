namespace Shipper.Watchdog;

/// <summary>
/// What the publisher exposes so that a stall can be told apart from a quiet host. The members match
/// <see cref="Shipper.Publisher.Pipeline"/>'s own. All are read from another thread and must be cheap and
/// thread-safe.
/// </summary>
public interface IPublisherProgress
{
    /// <summary>Events accepted and not yet finished by the output: waiting in the queue or in flight.</summary>
    long ActiveEvents { get; }

    /// <summary>When the output last acknowledged events (the publisher's start until the first ack), from the same TimeProvider as the detector's.</summary>
    DateTimeOffset LastAck { get; }

    /// <summary>The output's most recent error ("connection refused", "HTTP 503 …"), or null if none.</summary>
    string? LastOutputError { get; }
}
