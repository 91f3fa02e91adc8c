namespace Shipper.Module.Containers;

/// <summary>
/// Answers "what is container X?" for the document path (implemented by the host's <c>add_docker_metadata</c>
/// watcher). <see cref="Find"/> is called once per document from the document stage's thread: it must answer from
/// memory at once, never wait on the runtime's API, and be safe to call while the watcher updates what it knows.
/// </summary>
public interface IContainerMetadataSource
{
    /// <summary>The container's metadata, or null when it is not known (yet, or any more, or the API is unreachable).</summary>
    ContainerMetadata? Find(string containerId);
}
