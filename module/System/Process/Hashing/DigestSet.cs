namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// The configured digests fed together, so one read of a file serves every algorithm. One set per hashing
/// worker, reused from file to file.
/// </summary>
public sealed class DigestSet : IDisposable
{
    private readonly HashType[] _types;
    private readonly IIncrementalDigest[] _digests;

    public DigestSet(IReadOnlyList<HashType> types)
    {
        _types = new HashType[types.Count];
        _digests = new IIncrementalDigest[types.Count];
        for (var i = 0; i < types.Count; i++)
        {
            _types[i] = types[i];
            _digests[i] = DigestFactory.Create(types[i]);
        }
    }

    public int Count => _types.Length;

    public void Append(ReadOnlySpan<byte> data)
    {
        foreach (var digest in _digests)
        {
            digest.Append(data);
        }
    }

    /// <summary>Finishes every digest (in configured order) and resets the set for the next file.</summary>
    public HashDigest[] Finish()
    {
        var result = new HashDigest[_digests.Length];
        Span<byte> buffer = stackalloc byte[64];
        for (var i = 0; i < _digests.Length; i++)
        {
            var digest = _digests[i];
            var bytes = buffer[..digest.Length];
            digest.Finish(bytes);
            result[i] = new HashDigest(_types[i], Convert.ToHexStringLower(bytes));
        }

        return result;
    }

    /// <summary>Drops whatever was appended (after a failed read) so the next file starts clean.</summary>
    public void Reset()
    {
        Span<byte> scratch = stackalloc byte[64];
        foreach (var digest in _digests)
        {
            digest.Finish(scratch[..digest.Length]);
        }
    }

    public void Dispose()
    {
        foreach (var digest in _digests)
        {
            (digest as IDisposable)?.Dispose();
        }
    }
}
