using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary>
/// <c>queue.disk.*</c>, as libbeat names them, plus the fsync policy libbeat leaves implicit: data is written to
/// the segment file as soon as the writer has it (it survives a crash of the shipper) and reaches the disk
/// (survives a power cut) at least every <see cref="FsyncInterval"/> or every <see cref="FsyncEvents"/> events.
/// </summary>
public sealed record DiskQueueSettings(
    string Path,
    long MaxSize,
    long SegmentSize,
    int ReadAhead,
    int WriteAhead,
    TimeSpan RetryInterval,
    TimeSpan MaxRetryInterval,
    TimeSpan FsyncInterval,
    int FsyncEvents)
{
    public const long MinMaxSize = 1024 * 1024;
    public const long MinSegmentSize = 4096;

    /// <summary>Parses <c>queue.disk</c>; <paramref name="dataPath"/> is <c>path.data</c>, home of the default directory.</summary>
    public static DiskQueueSettings Parse(ConfigSection disk, string dataPath)
    {
        if (!disk.Has("max_size"))
        {
            throw disk.Error("max_size", "queue.disk needs max_size, the most disk space the queue may use (e.g. max_size: 10GB)");
        }

        var maxSize = disk.Size("max_size", 0, min: MinMaxSize);
        var segmentSize = disk.Size("segment_size", Math.Max(MinSegmentSize, maxSize / 10), min: MinSegmentSize);
        if (segmentSize > maxSize)
        {
            throw disk.Error("segment_size", $"segment_size ({segmentSize} bytes) must not exceed max_size ({maxSize} bytes)");
        }

        var retry = disk.Duration("retry_interval", TimeSpan.FromSeconds(1), min: TimeSpan.FromMilliseconds(1), max: TimeSpan.FromHours(1));
        var maxRetry = disk.Duration("max_retry_interval", TimeSpan.FromSeconds(30), min: TimeSpan.FromMilliseconds(1), max: TimeSpan.FromHours(1));
        if (maxRetry < retry)
        {
            throw disk.Error("max_retry_interval", $"max_retry_interval ({maxRetry.TotalSeconds:0.###}s) must not be shorter than retry_interval ({retry.TotalSeconds:0.###}s)");
        }

        var path = disk.OptionalString("path") is { Length: > 0 } configured
            ? System.IO.Path.GetFullPath(configured)
            : System.IO.Path.Combine(dataPath, "diskqueue");
        return new DiskQueueSettings(
            path,
            maxSize,
            segmentSize,
            disk.Int("read_ahead", 512, min: 1, max: 1_000_000),
            disk.Int("write_ahead", 2048, min: 1, max: 1_000_000),
            retry,
            maxRetry,
            disk.Duration("fsync.interval", TimeSpan.FromSeconds(1), min: TimeSpan.Zero, max: TimeSpan.FromHours(1)),
            disk.Int("fsync.events", 4096, min: 1, max: 100_000_000));
    }
}
