namespace Shipper.Module.Containers;

/// <summary>
/// What a container runtime's API says about one container (<c>add_docker_metadata</c>): its name, image and
/// labels. Immutable and shared by every document of the container; the labels are encoded once, when the
/// container becomes known, in the shape the processor's <c>labels.dedot</c> asks for.
/// </summary>
public sealed class ContainerMetadata
{
    public ContainerMetadata(string? name, string? imageName, byte[]? labelsJson)
    {
        Name = name;
        ImageName = imageName;
        LabelsJson = labelsJson;
    }

    /// <summary><c>container.name</c>, without the leading '/' the Docker API puts there.</summary>
    public string? Name { get; }

    /// <summary><c>container.image.name</c>: the image as the container was created from it (e.g. <c>nginx:1.27</c>).</summary>
    public string? ImageName { get; }

    /// <summary><c>container.labels</c> as one JSON object (UTF-8); null when the container has no labels.</summary>
    public byte[]? LabelsJson { get; }

    /// <summary>What the strings and the encoded labels take in memory (for the queue's byte estimate).</summary>
    public long EstimatedBytes =>
        (Name is null ? 0 : 24 + 2L * Name.Length) + (ImageName is null ? 0 : 24 + 2L * ImageName.Length) + (LabelsJson is null ? 0 : 24 + LabelsJson.Length);
}
