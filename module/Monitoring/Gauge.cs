namespace Shipper.Module.Monitoring;

/// <summary>A value that goes up and down (queue depth, tracked processes); reported as it is, never as a delta.</summary>
public sealed class Gauge
{
    private long _value;

    public Gauge(string name) => Name = name;

    public string Name { get; }

    public long Value => Volatile.Read(ref _value);

    public void Set(long value) => Volatile.Write(ref _value, value);

    public void Add(long delta) => Interlocked.Add(ref _value, delta);
}
