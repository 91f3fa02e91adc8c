namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// One digest algorithm fed a file in pieces. Instances are reused: <see cref="Finish"/> resets the state for
/// the next file, so a worker allocates its digests once.
/// </summary>
public interface IIncrementalDigest
{
    /// <summary>Digest length in bytes.</summary>
    int Length { get; }

    void Append(ReadOnlySpan<byte> data);

    /// <summary>Writes exactly <see cref="Length"/> bytes and starts over.</summary>
    void Finish(Span<byte> destination);
}
