using global::System.Security.Cryptography;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>An algorithm the platform's crypto library provides (MD5, SHA-1, SHA-2, SHA-3 through OpenSSL on Linux).</summary>
public sealed class PlatformDigest : IIncrementalDigest, IDisposable
{
    private readonly IncrementalHash _hash;

    public PlatformDigest(HashAlgorithmName algorithm)
    {
        _hash = IncrementalHash.CreateHash(algorithm);
        Length = _hash.HashLengthInBytes;
    }

    public int Length { get; }

    public void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

    public void Finish(Span<byte> destination) => _hash.GetHashAndReset(destination[..Length]);

    public void Dispose() => _hash.Dispose();
}
