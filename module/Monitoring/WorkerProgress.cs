namespace Shipper.Module.Monitoring;

/// <summary>
/// What a watched worker proves to its watcher with each heartbeat: the loops that must keep turning while the
/// worker is healthy (registered by whoever runs them) and the kernel's proc connector positions the process
/// source has reached, which the watcher hands to the next worker if this one has to be replaced so that the
/// events neither of them read are counted as lost. Thread-safe: loops come and go on their own threads, the
/// heartbeat reads from a timer.
/// </summary>
public sealed class WorkerProgress
{
    private readonly List<LoopTurns> _loops = new();
    private Func<string>? _positions;

    /// <summary>
    /// The proc connector positions the previous worker last reported (<c>cpu:sequence,…</c>), as the watcher
    /// handed them down; empty for the first worker or without a watcher.
    /// </summary>
    public string InheritedPositions { get; init; } = "";

    /// <summary>Starts watching a loop; it must call <see cref="LoopTurns.Turn"/> at least every few milliseconds while it runs.</summary>
    public LoopTurns Register(string name)
    {
        var loop = new LoopTurns(name);
        lock (_loops)
        {
            _loops.Add(loop);
        }

        return loop;
    }

    /// <summary>The loop ended on purpose (a stop, a failed start): its silence is no longer a hang.</summary>
    public void Unregister(LoopTurns loop)
    {
        lock (_loops)
        {
            _loops.Remove(loop);
        }
    }

    /// <summary>A copy of the loops registered now.</summary>
    public LoopTurns[] Loops()
    {
        lock (_loops)
        {
            return _loops.ToArray();
        }
    }

    /// <summary>Set by the running netlink source: reads the positions it has reached, from any thread.</summary>
    public void ReportPositionsWith(Func<string>? read) => Volatile.Write(ref _positions, read);

    /// <summary>The positions to carry to a replacement worker: the source's own, or what this worker inherited until it has its own.</summary>
    public string Positions() => Volatile.Read(ref _positions) is { } read ? read() : InheritedPositions;
}
