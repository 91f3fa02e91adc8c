namespace Shipper.Module.Monitoring;

/// <summary>One metric as read at one moment. Counters are cumulative; gauges and text are current values.</summary>
public readonly record struct MetricValue(string Name, MetricKind Kind, long Number, string? Text);
