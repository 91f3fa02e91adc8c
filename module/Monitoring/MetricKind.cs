namespace Shipper.Module.Monitoring;

public enum MetricKind
{
    Counter,
    Gauge,
    Text,
}
