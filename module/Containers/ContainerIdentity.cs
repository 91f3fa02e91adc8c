namespace Shipper.Module.Containers;

/// <summary>
/// The container a process runs in, as its cgroup path names it: <c>container.id</c> and, when the path's layout
/// says which runtime made it, <c>container.runtime</c>. Immutable and shared: every process of one container
/// (and every document about them) holds the same instance.
/// </summary>
public sealed class ContainerIdentity
{
    public ContainerIdentity(string id, string? runtime)
    {
        Id = id;
        Runtime = runtime;
    }

    /// <summary>The 64-hex-digit id, lower case, as the runtime names the container.</summary>
    public string Id { get; }

    /// <summary><c>docker</c>, <c>containerd</c>, <c>cri-o</c> or <c>podman</c>; null when the layout does not say.</summary>
    public string? Runtime { get; }

    public override string ToString() => Runtime is null ? Id : $"{Runtime}://{Id}";
}
