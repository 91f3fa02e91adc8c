using Microsoft.Extensions.Time.Testing;
using Shipper.Module.System.Process.Hashing;

namespace Shipper.Tests.Module.System.Process.Hashing;

public class TokenBucketTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public void StartsFullSoAFileUpToTheBurstPassesAtOnce()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(MiB, 3 * MiB, time);
        Assert.Equal(TimeSpan.Zero, bucket.Reserve(3 * MiB));
    }

    [Fact]
    public void AnEmptyBucketMakesTheReaderWaitForTheRate()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(MiB, 3 * MiB, time);
        bucket.Reserve(3 * MiB);
        Assert.Equal(TimeSpan.FromSeconds(3), bucket.Reserve(3 * MiB));
        // The reservation is already taken: the next reader queues behind it.
        Assert.Equal(TimeSpan.FromSeconds(4), bucket.Reserve(MiB));
    }

    [Fact]
    public void RefillsWithTimeButNeverBeyondTheBurst()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(MiB, 2 * MiB, time);
        bucket.Reserve(2 * MiB);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.Zero, bucket.Reserve(MiB));
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(TimeSpan.Zero, bucket.Reserve(2 * MiB));
        Assert.Equal(TimeSpan.FromSeconds(1), bucket.Reserve(MiB));
    }
}
