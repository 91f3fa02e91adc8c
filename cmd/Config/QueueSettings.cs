using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary>
/// <c>queue.mem.*</c>: the publisher's bounded in-memory queue, and how the output workers gather batches (with
/// <c>queue.disk</c> they gather from the disk queue's read-ahead the same way). <see cref="Bytes"/> bounds the
/// memory queue by the estimated size of what it holds (<see cref="Shipper.Module.Registry.IEventBody.EstimatedBytes"/>).
/// </summary>
public sealed record QueueSettings(int Events, int FlushMinEvents, TimeSpan FlushTimeout, long Bytes = QueueSettings.DefaultBytes)
{
    /// <summary>
    /// 64 MiB: a full queue of documents with huge command lines stays well under the watchdog's default
    /// memory_limit (200 MB of growth) even with the output's encoding buffers and the garbage collector's slack
    /// on top. Ordinary documents (about 2 KiB estimated) reach the event bound long before this one.
    /// </summary>
    public const long DefaultBytes = 64L * 1024 * 1024;


    /// <summary>Batching when the events come from the disk queue: as much as is there, and an idle queue flushes at once.</summary>
    public static QueueSettings ForDiskQueue(DiskQueueSettings disk) => new(disk.ReadAhead, disk.ReadAhead, TimeSpan.FromSeconds(1));

    public static QueueSettings Parse(ConfigSection queue)
    {
        if (queue.Find("mem") is not null && queue.Find("disk") is not null)
        {
            throw queue.Error("disk", "queue.mem and queue.disk are both set; a shipper has one queue, so keep one of them");
        }

        var mem = queue.Section("mem");
        var events = mem.Int("events", 3200, min: 1, max: 10_000_000);
        // The default min_events shrinks with a small queue; an explicit one larger than the queue is a mistake.
        var minEvents = mem.Int("flush.min_events", Math.Min(1600, events), min: 0, max: 10_000_000);
        if (minEvents > events)
        {
            throw mem.Error("flush.min_events", $"flush.min_events ({minEvents}) must not exceed queue.mem.events ({events})");
        }

        var timeout = mem.Duration("flush.timeout", TimeSpan.FromSeconds(10), min: TimeSpan.Zero, max: TimeSpan.FromHours(1));
        var bytes = mem.Size("bytes", DefaultBytes, min: 64 * 1024, max: 1L << 40);
        return new QueueSettings(events, Math.Max(1, minEvents), timeout, bytes);
    }

    /// <summary>
    /// The <c>queue.mem.*</c> keys the config set, with their values as written (for the warning when a
    /// performance preset overrides them).
    /// </summary>
    public static IReadOnlyList<(string Key, string Value)> ExplicitKeys(ConfigSection queue)
    {
        var result = new List<(string, string)>();
        foreach (var key in new[] { "events", "flush.min_events", "flush.timeout", "bytes" })
        {
            if (queue.Find("mem." + key) is ConfigScalar { IsNull: false } scalar)
            {
                result.Add(("queue.mem." + key, scalar.Value));
            }
        }

        return result;
    }
}
