namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// SHA-512/t (FIPS 180-4 §6.7) for t = 224 and 256: the SHA-512 function from the §5.3.6 initial values,
/// truncated to t bits. Not the same as truncating a SHA-512 digest.
/// </summary>
public sealed class Sha512Truncated : IIncrementalDigest
{
    private readonly Sha512Core _core;

    private Sha512Truncated(ulong[] initialValue, int length)
    {
        _core = new Sha512Core(initialValue);
        Length = length;
    }

    public int Length { get; }

    public static Sha512Truncated CreateSha512_224() => new(Sha512Core.Sha512_224InitialValue, 28);

    public static Sha512Truncated CreateSha512_256() => new(Sha512Core.Sha512_256InitialValue, 32);

    public void Append(ReadOnlySpan<byte> data) => _core.Append(data);

    public void Finish(Span<byte> destination) => _core.Finish(destination[..Length]);
}
