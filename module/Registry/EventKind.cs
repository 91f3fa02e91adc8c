namespace Shipper.Module.Registry;

/// <summary>ECS <c>event.kind</c>: a change that happened, or a periodic report of state.</summary>
public enum EventKind
{
    Event,
    State,
}
