namespace Shipper.Module.Registry;

/// <summary>
/// One document on its way to an output. The <c>event.*</c> ECS fields live here so the host can write the
/// <c>event</c> object in one piece together with <c>event.module</c> and <c>event.dataset</c>.
/// </summary>
public sealed class Event
{
    public required DateTime Timestamp { get; init; }

    public required string Module { get; init; }

    public required string Dataset { get; init; }

    /// <summary>ECS <c>event.action</c>, e.g. <c>process_started</c>.</summary>
    public required string Action { get; init; }

    public EventKind Kind { get; init; } = EventKind.Event;

    /// <summary>ECS <c>event.category</c>; share static arrays, these are never mutated.</summary>
    public required IReadOnlyList<string> Categories { get; init; }

    /// <summary>ECS <c>event.type</c>; share static arrays, these are never mutated.</summary>
    public required IReadOnlyList<string> Types { get; init; }

    /// <summary>ECS <c>event.id</c>; shared by all documents of one state report.</summary>
    public string? Id { get; init; }

    public required IEventBody Body { get; init; }

    /// <summary>
    /// About how many bytes this event keeps alive while queued: the body's estimate plus the envelope object
    /// (its strings are shared literals and cost nothing per event).
    /// </summary>
    public long EstimatedBytes => EnvelopeBytes + Body.EstimatedBytes;

    private const long EnvelopeBytes = 96;

    /// <summary>How many times an output has tried and failed to deliver this event; outputs own it.</summary>
    public int Attempts { get; set; }
}
