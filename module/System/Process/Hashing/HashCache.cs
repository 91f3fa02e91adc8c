namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// A bounded least-recently-used map of file versions (statx identities: device, inode, size, times, …) to
/// digests. A version is never changed in place, only added and aged out: a file replaced or rewritten is a new
/// identity, and the old one stays right for the processes that ran it. Not thread-safe: the
/// <see cref="ExecutableHasher"/> guards it with its lock.
/// </summary>
public sealed class HashCache
{
    private readonly Dictionary<FileIdentity, LinkedListNode<HashCacheEntry>> _entries;
    private readonly LinkedList<HashCacheEntry> _recency = new();

    public HashCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _entries = new Dictionary<FileIdentity, LinkedListNode<HashCacheEntry>>(Math.Min(capacity, 1024));
    }

    public int Capacity { get; }

    public int Count => _entries.Count;

    /// <summary>Finds an entry and marks it most recently used.</summary>
    public bool TryGet(in FileIdentity key, out HashCacheEntry entry)
    {
        if (_entries.TryGetValue(key, out var node))
        {
            if (node != _recency.First)
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
            }

            entry = node.Value;
            return true;
        }

        entry = null!;
        return false;
    }

    /// <summary>Adds or replaces an entry; returns true when that pushed out the least recently used one (<paramref name="evicted"/>).</summary>
    public bool Put(HashCacheEntry entry, out FileIdentity evicted)
    {
        evicted = default;
        if (_entries.TryGetValue(entry.Identity, out var existing))
        {
            existing.Value = entry;
            _recency.Remove(existing);
            _recency.AddFirst(existing);
            return false;
        }

        _entries[entry.Identity] = _recency.AddFirst(entry);
        if (_entries.Count <= Capacity)
        {
            return false;
        }

        var oldest = _recency.Last!;
        _recency.RemoveLast();
        _entries.Remove(oldest.Value.Identity);
        evicted = oldest.Value.Identity;
        return true;
    }
}
