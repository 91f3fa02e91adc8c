namespace Shipper.Module.System.Process.Hashing;

/// <summary>One cached file version: the statx identity the digests were computed for, and the digests.</summary>
public sealed class HashCacheEntry
{
    public HashCacheEntry(HashCacheKey key, FileIdentity identity, HashOutcome outcome)
    {
        Key = key;
        Identity = identity;
        Outcome = outcome;
    }

    public HashCacheKey Key { get; }

    public FileIdentity Identity { get; }

    public HashOutcome Outcome { get; }
}
