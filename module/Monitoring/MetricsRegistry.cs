namespace Shipper.Module.Monitoring;

/// <summary>
/// Named counters, gauges and text values that any component registers into, by dotted name
/// (<c>pipeline.events.total</c>, <c>process.lost</c>). Registering a name twice returns the same metric, so
/// components need not coordinate. Reads take a snapshot sorted by name.
/// </summary>
public sealed class MetricsRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<string, object> _metrics = new(StringComparer.Ordinal);

    public Counter Counter(string name) => GetOrAdd(name, static n => new Counter(n));

    public Gauge Gauge(string name) => GetOrAdd(name, static n => new Gauge(n));

    public TextMetric Text(string name) => GetOrAdd(name, static n => new TextMetric(n));

    /// <summary>A gauge computed on read, for values another component owns (queue length, table size).</summary>
    public void GaugeFunc(string name, Func<long> read)
    {
        lock (_gate)
        {
            _metrics[name] = read;
        }
    }

    public List<MetricValue> Snapshot()
    {
        KeyValuePair<string, object>[] entries;
        lock (_gate)
        {
            entries = _metrics.ToArray();
        }

        Array.Sort(entries, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var result = new List<MetricValue>(entries.Length);
        foreach (var (name, metric) in entries)
        {
            result.Add(metric switch
            {
                Counter c => new MetricValue(name, MetricKind.Counter, c.Value, null),
                Gauge g => new MetricValue(name, MetricKind.Gauge, g.Value, null),
                TextMetric t => new MetricValue(name, MetricKind.Text, 0, t.Value),
                Func<long> f => new MetricValue(name, MetricKind.Gauge, f(), null),
                _ => throw new InvalidOperationException($"unexpected metric type for {name}"),
            });
        }

        return result;
    }

    private T GetOrAdd<T>(string name, Func<string, T> create)
        where T : class
    {
        lock (_gate)
        {
            if (_metrics.TryGetValue(name, out var existing))
            {
                return existing as T
                    ?? throw new InvalidOperationException($"metric '{name}' is already registered as a {existing.GetType().Name}");
            }

            var created = create(name);
            _metrics[name] = created;
            return created;
        }
    }
}
