namespace Shipper.Module.Monitoring;

/// <summary>A monotonically increasing count, safe to bump from any thread without locks.</summary>
public sealed class Counter
{
    private long _value;

    public Counter(string name) => Name = name;

    public string Name { get; }

    public long Value => Volatile.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);

    public void Add(long delta) => Interlocked.Add(ref _value, delta);
}
