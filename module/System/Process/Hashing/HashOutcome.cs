using Shipper.Module.System.Process.Enrichment;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// The answer for one process's executable: the digests in configured order, or why there are none. Cached
/// outcomes are shared by every process that runs the same file version, so a cache hit allocates nothing.
/// </summary>
public sealed class HashOutcome
{
    private ExecutableHashResult? _hashResult;

    private HashOutcome(HashStatus status, HashDigest[] digests, string? message)
    {
        Status = status;
        Digests = digests;
        Message = message;
    }

    public HashStatus Status { get; }

    /// <summary>(type, lowercase hex) in the order of <c>hash_types</c>; empty unless <see cref="Status"/> is Hashed.</summary>
    public IReadOnlyList<HashDigest> Digests { get; }

    /// <summary>Why there is no hash, in words for <c>error.message</c> or a debug log; null when hashed.</summary>
    public string? Message { get; }

    public bool TimedOut => Status == HashStatus.TimedOut;

    /// <summary>Failed or timed out: the document should carry <see cref="Message"/> in <c>error.message</c>.</summary>
    public bool IsError => Status is HashStatus.Failed or HashStatus.TimedOut;

    /// <summary>The digest of one algorithm, or null.</summary>
    public string? this[HashType type]
    {
        get
        {
            foreach (var digest in Digests)
            {
                if (digest.Type == type)
                {
                    return digest.Hex;
                }
            }

            return null;
        }
    }

    public static HashOutcome Hashed(HashDigest[] digests) => new(HashStatus.Hashed, digests, null);

    public static HashOutcome Skipped(string reason) => new(HashStatus.Skipped, [], reason);

    public static HashOutcome Failed(string error) => new(HashStatus.Failed, [], error);

    public static HashOutcome TimedOutAfter(string message) => new(HashStatus.TimedOut, [], message);

    /// <summary>
    /// This outcome as the enrichment stage takes it: digests, an error for <c>error.message</c>, or nothing for
    /// a skip (as Auditbeat, which only logs those). Made once and shared with the cached outcome.
    /// </summary>
    public ExecutableHashResult ToHashResult()
    {
        if (_hashResult is { } made)
        {
            return made;
        }

        ExecutableHashResult result;
        switch (Status)
        {
            case HashStatus.Hashed:
                var digests = new ExecutableDigest[Digests.Count];
                for (var i = 0; i < digests.Length; i++)
                {
                    digests[i] = new ExecutableDigest(Digests[i].Name, Digests[i].Hex);
                }

                result = new ExecutableHashResult(digests, null);
                break;
            case HashStatus.Skipped:
                result = ExecutableHashResult.None;
                break;
            default:
                result = ExecutableHashResult.Failed(Message!);
                break;
        }

        // A race makes two equal results; either may win.
        _hashResult = result;
        return result;
    }

    public override string ToString() =>
        Status == HashStatus.Hashed
            ? string.Join(" ", Digests.Select(d => d.Name + "=" + d.Hex))
            : Status + ": " + Message;
}
