using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary>
/// <c>queue.mem.*</c>: the publisher's bounded in-memory queue, and how the output workers gather batches (with
/// <c>queue.disk</c> they gather from the disk queue's read-ahead the same way).
/// </summary>
public sealed record QueueSettings(int Events, int FlushMinEvents, TimeSpan FlushTimeout)
{
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
        return new QueueSettings(events, Math.Max(1, minEvents), timeout);
    }
}
