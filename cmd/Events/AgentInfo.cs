namespace Shipper.Events;

/// <summary>The ECS <c>agent.*</c> fields. The id survives restarts (path.data/meta.json); the ephemeral id does not.</summary>
public sealed class AgentInfo
{
    public const string Type = "shipper";

    public required string Name { get; init; }

    public required string Version { get; init; }

    public required string Id { get; init; }

    public required string EphemeralId { get; init; }
}
