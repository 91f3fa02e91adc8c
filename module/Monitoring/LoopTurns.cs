namespace Shipper.Module.Monitoring;

/// <summary>
/// How many times one of the worker's loops has come round, for the watchdog heartbeat: the loop calls
/// <see cref="Turn"/> once per iteration (a plain increment, cheap enough for the netlink reader), and the
/// heartbeat, on another thread, only compares successive readings. Single writer: the loop's own thread.
/// </summary>
public sealed class LoopTurns
{
    private long _count;

    public LoopTurns(string name) => Name = name;

    /// <summary>What the heartbeat names when this loop stops turning (<c>netlink reader</c>).</summary>
    public string Name { get; }

    public long Count => Volatile.Read(ref _count);

    public void Turn() => Volatile.Write(ref _count, _count + 1);
}
