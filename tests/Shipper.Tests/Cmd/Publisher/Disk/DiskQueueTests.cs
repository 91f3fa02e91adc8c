using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>The disk queue on real directories and files: what it keeps, what it frees, what it refuses.</summary>
public sealed class DiskQueueTests
{
    /// <summary>
    /// Closing ends the reader once it has read everything: its channel completes. Run many times because the
    /// wake-up at the writer's end once raced with the reader's check that the writer was done (the reader then
    /// waited forever).
    /// </summary>
    [Fact]
    public async Task ClosingAlwaysEndsTheReader()
    {
        await Parallel.ForAsync(0, 300, async (i, _) =>
        {
            using var dir = new TempDirectory();
            await using var queue = new QueueUnderTest(QueueUnderTest.Settings(dir.Combine("queue")));
            await queue.AddAsync(Enumerable.Range(0, i % 4));
            Assert.Equal(i % 4, (await queue.DrainAsync()).Count);
        });
    }
}
