namespace Shipper.Module.System.Process.Hashing;

/// <summary>SHA-224 (FIPS 180-4 §6.3): the SHA-256 function from its own initial value, truncated to 28 bytes.</summary>
public sealed class Sha224 : IIncrementalDigest
{
    public const int DigestLength = 28;

    private readonly Sha256Core _core = new(Sha256Core.Sha224InitialValue);

    public int Length => DigestLength;

    public static byte[] HashData(ReadOnlySpan<byte> data)
    {
        var digest = new Sha224();
        digest.Append(data);
        var result = new byte[DigestLength];
        digest.Finish(result);
        return result;
    }

    public void Append(ReadOnlySpan<byte> data) => _core.Append(data);

    public void Finish(Span<byte> destination) => _core.Finish(destination[..DigestLength]);
}
