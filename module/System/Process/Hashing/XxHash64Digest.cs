using global::System.IO.Hashing;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// XXH64 with seed 0. The digest is the 64-bit value big-endian, so its hex reads like the number, as
/// xxhsum and Auditbeat print it.
/// </summary>
public sealed class XxHash64Digest : IIncrementalDigest
{
    private readonly XxHash64 _hash = new();

    public int Length => 8;

    public void Append(ReadOnlySpan<byte> data) => _hash.Append(data);

    // System.IO.Hashing writes XxHash64 big-endian.
    public void Finish(Span<byte> destination) => _hash.GetHashAndReset(destination[..8]);
}
