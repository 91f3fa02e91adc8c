using Shipper.Module.System.Process.Hashing;

namespace Shipper.Tests.Module.System.Process.Hashing;

public class HashCacheTests
{
    [Fact]
    public void EvictsTheLeastRecentlyUsedEntry()
    {
        var cache = new HashCache(2);
        Assert.False(cache.Put(Entry(Version(1)), out _));
        Assert.False(cache.Put(Entry(Version(2)), out _));
        Assert.True(cache.TryGet(Version(1), out _));
        Assert.True(cache.Put(Entry(Version(3)), out var evicted));

        Assert.Equal(Version(2), evicted);
        Assert.True(cache.TryGet(Version(1), out _));
        Assert.False(cache.TryGet(Version(2), out _));
        Assert.True(cache.TryGet(Version(3), out _));
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void ReplacingAnEntryEvictsNothing()
    {
        var cache = new HashCache(1);
        Assert.False(cache.Put(Entry(Version(1)), out _));
        Assert.False(cache.Put(Entry(Version(1)), out _));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void EveryPartOfTheIdentityTellsVersionsApart()
    {
        // Same inode rewritten (size, mtime, ctime) or re-linked (ctime, links): another version each time.
        var cache = new HashCache(8);
        var ran = Version(1);
        cache.Put(Entry(ran), out _);

        Assert.True(cache.TryGet(ran, out _));
        Assert.False(cache.TryGet(ran with { Device = 9 }, out _));
        Assert.False(cache.TryGet(ran with { Size = ran.Size + 1 }, out _));
        Assert.False(cache.TryGet(ran with { ModifiedNanoseconds = 1 }, out _));
        Assert.False(cache.TryGet(ran with { ChangedSeconds = ran.ChangedSeconds + 1 }, out _));
        Assert.False(cache.TryGet(ran with { LinkCount = 0 }, out _));
        Assert.Equal(1, cache.Count);
    }

    private static FileIdentity Version(ulong inode) => new(8, inode, 4096, 0x81ed, 0, 0, 1, 1_700_000_000, 0, 1_700_000_000, 0);

    private static HashCacheEntry Entry(FileIdentity identity) => new(identity, HashOutcome.Hashed([]));
}
