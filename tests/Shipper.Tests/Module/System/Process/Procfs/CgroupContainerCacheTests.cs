using global::System.Text;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Tests.Module.System.Process.Procfs;

public class CgroupContainerCacheTests
{
    private const string Id = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";

    [Fact]
    public void TheSameContentGivesTheSameInstanceWithoutAllocating()
    {
        var cache = new CgroupContainerCache();
        var content = Encoding.ASCII.GetBytes($"0::/system.slice/docker-{Id}.scope\n");
        var first = cache.Find(content);
        var copy = content.ToArray();

        var before = GC.GetAllocatedBytesForCurrentThread();
        ContainerLookups(cache, copy, 1000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Same(first, cache.Find(copy));
        Assert.Equal(0, allocated);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void ContentsNamingOneContainerShareItsIdentity()
    {
        var cache = new CgroupContainerCache();

        var a = cache.Find(Encoding.ASCII.GetBytes($"4:memory:/docker/{Id}\n0::/\n"));
        var b = cache.Find(Encoding.ASCII.GetBytes($"4:memory:/docker/{Id}\n0::/other\n"));

        Assert.NotNull(a);
        Assert.Same(a, b);
    }

    [Fact]
    public void ContentWithNoContainerIsRememberedAsNone()
    {
        var cache = new CgroupContainerCache();
        var content = "0::/user.slice/user-0.slice/session-1.scope\n"u8.ToArray();

        Assert.Null(cache.Find(content));
        Assert.Null(cache.Find(content));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void TheCacheStaysBounded()
    {
        var cache = new CgroupContainerCache();
        for (var i = 0; i < CgroupContainerCache.Capacity + 10; i++)
        {
            cache.Find(Encoding.ASCII.GetBytes($"0::/system.slice/unit-{i}.service\n"));
        }

        Assert.True(cache.Count <= CgroupContainerCache.Capacity, $"{cache.Count} entries");
        Assert.Equal(Id, cache.Find(Encoding.ASCII.GetBytes($"0::/docker/{Id}\n"))?.Id);
    }

    private static void ContainerLookups(CgroupContainerCache cache, byte[] content, int count)
    {
        for (var i = 0; i < count; i++)
        {
            cache.Find(content);
        }
    }
}
