using Shipper.Module.Registry;

namespace Shipper.Outputs;

/// <summary>
/// What became of a batch: every event is counted exactly once as acknowledged, dropped (with the reason
/// logged and counted by the output) or handed back for retry.
/// </summary>
public sealed class PublishResult
{
    public PublishResult(int acked, int dropped, IReadOnlyList<Event> retry)
    {
        Acked = acked;
        Dropped = dropped;
        Retry = retry;
    }

    public int Acked { get; }

    public int Dropped { get; }

    public IReadOnlyList<Event> Retry { get; }

    public static PublishResult AllAcked(int count) => new(count, 0, Array.Empty<Event>());
}
