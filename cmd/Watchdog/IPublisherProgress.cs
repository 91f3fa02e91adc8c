namespace Shipper.Watchdog;

/// <summary>
/// What the publisher exposes so that a stall can be told apart from a quiet host. The detector notices
/// progress itself by watching <see cref="AckedEvents"/> change, so the publisher needs no clock.
/// All members are read from another thread and must be cheap and thread-safe.
/// </summary>
public interface IPublisherProgress
{
    /// <summary>Events accepted into the queue and not yet finished by the output (waiting or in flight).</summary>
    long QueuedEvents { get; }

    /// <summary>Cumulative events the output finished with: acknowledged, or dropped for good (a drop is progress too).</summary>
    long AckedEvents { get; }

    /// <summary>The output's most recent error ("connection refused", "HTTP 503 …"), or null if none.</summary>
    string? LastOutputError { get; }
}
