using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary><c>queue.mem.*</c>: the publisher's bounded in-memory queue.</summary>
public sealed record QueueSettings(int Events, int FlushMinEvents, TimeSpan FlushTimeout)
{
    public static QueueSettings Parse(ConfigSection queue)
    {
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
