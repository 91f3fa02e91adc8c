namespace Shipper.Containers.Docker;

/// <summary>One container as the Docker API describes it (from the list, an inspect or an event's attributes).</summary>
public sealed record DockerContainer(string Id, string? Name, string? Image, IReadOnlyList<KeyValuePair<string, string>> Labels);
