using global::System.Security.Cryptography;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// Creates the digest for a <see cref="HashType"/> and says whether this platform can compute it. MD5, SHA-1,
/// SHA-256/384/512 and SHA3-256/384/512 come from the platform's crypto library (OpenSSL on Linux; a FIPS-mode
/// OpenSSL refuses MD5); SHA-224, SHA-512/t, SHA3-224 and BLAKE2b are ours, as is SHA-3 when the platform
/// lacks it; XXH64 is System.IO.Hashing.
/// </summary>
public static class DigestFactory
{
    public static IIncrementalDigest Create(HashType type) => type switch
    {
        HashType.Md5 => new PlatformDigest(HashAlgorithmName.MD5),
        HashType.Sha1 => new PlatformDigest(HashAlgorithmName.SHA1),
        HashType.Sha224 => new Sha224(),
        HashType.Sha256 => new PlatformDigest(HashAlgorithmName.SHA256),
        HashType.Sha384 => new PlatformDigest(HashAlgorithmName.SHA384),
        HashType.Sha512 => new PlatformDigest(HashAlgorithmName.SHA512),
        HashType.Sha512_224 => Sha512Truncated.CreateSha512_224(),
        HashType.Sha512_256 => Sha512Truncated.CreateSha512_256(),
        HashType.Sha3_224 => Sha3.Create224(),
        HashType.Sha3_256 => SHA3_256.IsSupported ? new PlatformDigest(HashAlgorithmName.SHA3_256) : Sha3.Create256(),
        HashType.Sha3_384 => SHA3_384.IsSupported ? new PlatformDigest(HashAlgorithmName.SHA3_384) : Sha3.Create384(),
        HashType.Sha3_512 => SHA3_512.IsSupported ? new PlatformDigest(HashAlgorithmName.SHA3_512) : Sha3.Create512(),
        HashType.Blake2b_256 => new Blake2b(32),
        HashType.Blake2b_384 => new Blake2b(48),
        HashType.Blake2b_512 => new Blake2b(64),
        HashType.Xxh64 => new XxHash64Digest(),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown hash type"),
    };

    /// <summary>Null when <paramref name="type"/> can be computed here, otherwise why not.</summary>
    public static string? UnsupportedReason(HashType type)
    {
        try
        {
            var digest = Create(type);
            Span<byte> probe = stackalloc byte[64];
            digest.Append("probe"u8);
            digest.Finish(probe);
            (digest as IDisposable)?.Dispose();
            return null;
        }
        catch (Exception e) when (e is CryptographicException or PlatformNotSupportedException)
        {
            return $"{HashTypeNames.Name(type)} is not available from the platform's crypto library: {e.Message}";
        }
    }
}
