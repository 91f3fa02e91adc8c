namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// libbeat's performance presets (<c>output.elasticsearch.preset</c>). A preset overrides the user's values of
/// the keys it sets (with a warning per overridden key). The queue values belong to the publisher's
/// <c>queue.mem.*</c> and are applied there by the host.
/// </summary>
public sealed record OutputPreset(
    string Name,
    int BulkMaxSize,
    int Worker,
    int CompressionLevel,
    TimeSpan IdleConnectionTimeout,
    int QueueEvents,
    int QueueFlushMinEvents,
    TimeSpan QueueFlushTimeout)
{
    public static readonly OutputPreset Balanced = new("balanced", 1600, 1, 1, TimeSpan.FromSeconds(3), 3200, 1600, TimeSpan.FromSeconds(10));

    public static readonly OutputPreset Throughput = new("throughput", 1600, 4, 1, TimeSpan.FromSeconds(15), 12800, 1600, TimeSpan.FromSeconds(5));

    public static readonly OutputPreset Scale = new("scale", 1600, 1, 1, TimeSpan.FromSeconds(1), 3200, 1600, TimeSpan.FromSeconds(20));

    public static readonly OutputPreset Latency = new("latency", 50, 1, 1, TimeSpan.FromSeconds(60), 4100, 2050, TimeSpan.FromSeconds(1));

    /// <summary>The output keys a preset sets; the queue keys are listed separately for the host.</summary>
    public static readonly string[] OutputKeys = { "bulk_max_size", "worker", "compression_level", "idle_connection_timeout" };

    public static readonly string[] QueueKeys = { "queue.mem.events", "queue.mem.flush.min_events", "queue.mem.flush.timeout" };

    /// <summary>Null for <c>custom</c> (no overrides, libbeat's default).</summary>
    public static OutputPreset? ByName(string name) => name switch
    {
        "balanced" => Balanced,
        "throughput" => Throughput,
        "scale" => Scale,
        "latency" => Latency,
        _ => null,
    };
}
