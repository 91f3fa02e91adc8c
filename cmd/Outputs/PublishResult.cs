using Shipper.Module.Registry;

namespace Shipper.Outputs;

/// <summary>
/// What became of a batch: every event is counted exactly once as acknowledged, dropped (with the reason
/// logged and counted by the output) or handed back for retry.
/// </summary>
public sealed class PublishResult
{
    public PublishResult(int acked, int dropped, IReadOnlyList<Event> retry, string? error = null)
    {
        Acked = acked;
        Dropped = dropped;
        Retry = retry;
        Error = error;
    }

    public int Acked { get; }

    public int Dropped { get; }

    public IReadOnlyList<Event> Retry { get; }

    /// <summary>The output's last error in words (for logs and the publisher-stall watchdog); null when all went well.</summary>
    public string? Error { get; }

    public static PublishResult AllAcked(int count) => new(count, 0, Array.Empty<Event>());
}
