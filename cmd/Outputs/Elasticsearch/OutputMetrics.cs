using Shipper.Module.Monitoring;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// The output's own metrics. The publisher already counts <c>output.events.{batches,total,acked,failed,dropped}</c>
/// per PublishAsync call for every output, so these add what only the Elasticsearch output knows, with
/// libbeat's names where libbeat has them: <c>output.events.{duplicates,toomany,active,dead_letter,malformed}</c>,
/// bytes on the wire (counted on the socket, so TLS and HTTP framing included), and per bulk request
/// <c>output.bulk.{requests,events,acked,failed,dropped}</c> and latency.
/// </summary>
public sealed class OutputMetrics
{
    private long _latencyTotalMs;
    private long _latencyCount;

    public OutputMetrics(MetricsRegistry registry)
    {
        Batches = registry.Counter("output.bulk.requests");
        Total = registry.Counter("output.bulk.events");
        Acked = registry.Counter("output.bulk.acked");
        Failed = registry.Counter("output.bulk.failed");
        Dropped = registry.Counter("output.bulk.dropped");
        Duplicates = registry.Counter("output.events.duplicates");
        TooMany = registry.Counter("output.events.toomany");
        DeadLettered = registry.Counter("output.events.dead_letter");
        Malformed = registry.Counter("output.events.malformed");
        Active = registry.Gauge("output.events.active");
        WriteBytes = registry.Counter("output.write.bytes");
        WriteErrors = registry.Counter("output.write.errors");
        ReadBytes = registry.Counter("output.read.bytes");
        ReadErrors = registry.Counter("output.read.errors");
        LatencyLastMs = registry.Gauge("output.bulk.latency_ms.last");
        registry.GaugeFunc("output.bulk.latency_ms.avg", () =>
        {
            var count = Interlocked.Read(ref _latencyCount);
            return count == 0 ? 0 : Interlocked.Read(ref _latencyTotalMs) / count;
        });
    }

    /// <summary>Bulk requests sent (each attempt, each half of a split).</summary>
    public Counter Batches { get; }

    /// <summary>Events sent in bulk requests (each attempt counts).</summary>
    public Counter Total { get; }

    /// <summary>Items answered 2xx (duplicates are counted apart, as libbeat does).</summary>
    public Counter Acked { get; }

    /// <summary>Events that will be retried: per-item 429/5xx and every event of a failed request (each attempt counts).</summary>
    public Counter Failed { get; }

    /// <summary>Events given up on: rejected by Elasticsearch under the drop policy, too large, or not formattable.</summary>
    public Counter Dropped { get; }

    /// <summary>409 on <c>create</c>: the document is already indexed; counted as delivered.</summary>
    public Counter Duplicates { get; }

    public Counter TooMany { get; }

    /// <summary>Events rewritten into the dead-letter index (they are then acked or dropped like any other).</summary>
    public Counter DeadLettered { get; }

    /// <summary>Events whose item in a bulk reply was missing or had no final HTTP status (200–599); retried.</summary>
    public Counter Malformed { get; }

    /// <summary>Events in bulk requests that have not been answered yet.</summary>
    public Gauge Active { get; }

    public Counter WriteBytes { get; }

    public Counter WriteErrors { get; }

    public Counter ReadBytes { get; }

    public Counter ReadErrors { get; }

    public Gauge LatencyLastMs { get; }

    public void RecordLatency(TimeSpan latency)
    {
        var ms = (long)latency.TotalMilliseconds;
        LatencyLastMs.Set(ms);
        Interlocked.Add(ref _latencyTotalMs, ms);
        Interlocked.Increment(ref _latencyCount);
    }
}
