namespace Shipper.Containers.Docker;

/// <summary>One line of the Docker API's event stream (only what the watcher uses).</summary>
public readonly record struct DockerEvent(string Type, string Action, string Id, long TimeSeconds);
