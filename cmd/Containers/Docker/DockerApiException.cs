namespace Shipper.Containers.Docker;

/// <summary>The Docker API answered something that is not what it sends (a wrong status, garbage, a reply too large).</summary>
public sealed class DockerApiException : Exception
{
    public DockerApiException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
