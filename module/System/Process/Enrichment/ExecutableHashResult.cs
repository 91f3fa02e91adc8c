namespace Shipper.Module.System.Process.Enrichment;

/// <summary>The outcome of one hash request: digests, or an error that goes into <c>error.message</c>, or neither.</summary>
public sealed class ExecutableHashResult
{
    public static readonly ExecutableHashResult None = new(Array.Empty<ExecutableDigest>(), null);

    public ExecutableHashResult(IReadOnlyList<ExecutableDigest> digests, string? error)
    {
        Digests = digests;
        Error = error;
    }

    public IReadOnlyList<ExecutableDigest> Digests { get; }

    /// <summary>Why there are no (or not all) digests, e.g. "file is larger than max_file_size (104857600 bytes)".</summary>
    public string? Error { get; }

    public static ExecutableHashResult Failed(string error) => new(Array.Empty<ExecutableDigest>(), error);
}
