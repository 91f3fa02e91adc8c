namespace Shipper.Module.System.Process.Hashing;

/// <summary>One cached file version: the statx identity of the file that ran, and its digests.</summary>
public sealed class HashCacheEntry
{
    public HashCacheEntry(FileIdentity identity, HashOutcome outcome)
    {
        Identity = identity;
        Outcome = outcome;
    }

    public FileIdentity Identity { get; }

    public HashOutcome Outcome { get; }
}
