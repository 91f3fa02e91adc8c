using Shipper.Module.System.Process.Hashing;

namespace Shipper.Tests.Module.System.Process.Hashing;

public class HashCacheTests
{
    [Fact]
    public void EvictsTheLeastRecentlyUsedEntry()
    {
        var cache = new HashCache(2);
        Assert.False(cache.Put(Entry("/a")));
        Assert.False(cache.Put(Entry("/b")));
        Assert.True(cache.TryGet(HashCacheKey.ForPath("/a"), out _));
        Assert.True(cache.Put(Entry("/c")));

        Assert.True(cache.TryGet(HashCacheKey.ForPath("/a"), out _));
        Assert.False(cache.TryGet(HashCacheKey.ForPath("/b"), out _));
        Assert.True(cache.TryGet(HashCacheKey.ForPath("/c"), out _));
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void ReplacingAnEntryEvictsNothing()
    {
        var cache = new HashCache(1);
        Assert.False(cache.Put(Entry("/a")));
        Assert.False(cache.Put(Entry("/a")));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void PathAndDeviceInodeKeysAreDistinct()
    {
        var cache = new HashCache(4);
        cache.Put(new HashCacheEntry(HashCacheKey.ForFile(8, 42), default, HashOutcome.Hashed([])));
        Assert.True(cache.TryGet(HashCacheKey.ForFile(8, 42), out _));
        Assert.False(cache.TryGet(HashCacheKey.ForFile(8, 43), out _));
        Assert.True(cache.Remove(HashCacheKey.ForFile(8, 42)));
        Assert.Equal(0, cache.Count);
    }

    private static HashCacheEntry Entry(string path) => new(HashCacheKey.ForPath(path), default, HashOutcome.Hashed([]));
}
