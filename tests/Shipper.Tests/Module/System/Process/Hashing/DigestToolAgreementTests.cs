using Shipper.Module.System.Process.Hashing;

namespace Shipper.Tests.Module.System.Process.Hashing;

/// <summary>
/// Every algorithm, fed from one read of a fixture file through <see cref="DigestSet"/>, agrees with the
/// reference command-line tools (coreutils, b2sum, OpenSSL) on the same file.
/// </summary>
public sealed class DigestToolAgreementTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("shipper-hash-fixtures-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string, int> Fixtures => new()
    {
        { "empty", 0 },
        { "one-byte", 1 },
        { "block-edge", 128 },
        { "odd", 1_000_003 },
        { "large", 5 * 1024 * 1024 + 17 },
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void OneReadFeedsEveryAlgorithmAndAllMatchTheTools(string name, int size)
    {
        var path = Path.Combine(_directory, name);
        var content = new byte[size];
        new Random(size).NextBytes(content);
        File.WriteAllBytes(path, content);

        using var set = new DigestSet(HashTypeNames.All);
        using (var stream = File.OpenRead(path))
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                set.Append(buffer.AsSpan(0, read));
            }
        }

        var digests = set.Finish();
        Assert.Equal(HashTypeNames.All.Count, digests.Length);
        foreach (var digest in digests)
        {
            Assert.Matches("^[0-9a-f]+$", digest.Hex);
            if (digest.Type == HashType.Xxh64)
            {
                // No xxhsum here: compare with the one-shot System.IO.Hashing value instead.
                Assert.Equal(Convert.ToHexStringLower(global::System.IO.Hashing.XxHash64.Hash(content)), digest.Hex);
                continue;
            }

            Assert.True(Reference(digest.Type, path) == digest.Hex, $"{digest.Name} of {name}: ours {digest.Hex}, tool {Reference(digest.Type, path)}");
        }
    }

    private static string Reference(HashType type, string path) => type switch
    {
        HashType.Md5 => ExternalTool.Digest("md5sum", path),
        HashType.Sha1 => ExternalTool.Digest("sha1sum", path),
        HashType.Sha224 => ExternalTool.Digest("sha224sum", path),
        HashType.Sha256 => ExternalTool.Digest("sha256sum", path),
        HashType.Sha384 => ExternalTool.Digest("sha384sum", path),
        HashType.Sha512 => ExternalTool.Digest("sha512sum", path),
        HashType.Sha512_224 => ExternalTool.Digest("openssl", "dgst", "-sha512-224", "-r", path),
        HashType.Sha512_256 => ExternalTool.Digest("openssl", "dgst", "-sha512-256", "-r", path),
        HashType.Sha3_224 => ExternalTool.Digest("openssl", "dgst", "-sha3-224", "-r", path),
        HashType.Sha3_256 => ExternalTool.Digest("openssl", "dgst", "-sha3-256", "-r", path),
        HashType.Sha3_384 => ExternalTool.Digest("openssl", "dgst", "-sha3-384", "-r", path),
        HashType.Sha3_512 => ExternalTool.Digest("openssl", "dgst", "-sha3-512", "-r", path),
        HashType.Blake2b_256 => ExternalTool.Digest("b2sum", "-l", "256", path),
        HashType.Blake2b_384 => ExternalTool.Digest("b2sum", "-l", "384", path),
        HashType.Blake2b_512 => ExternalTool.Digest("b2sum", path),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
