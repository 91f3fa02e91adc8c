namespace Shipper.Watchdog;

/// <summary>
/// When to start the next worker. A worker that ends on its own within <see cref="QuickDeathWindow"/> of its
/// start "respawns too quickly": the N-th such death in a row waits min(600 s, respawn_delay + 2^N s), and
/// the <c>respawn_limit</c>-th makes the watcher give up (a worker that cannot start would otherwise spin
/// forever). A worker that lived longer, or that the watcher itself stopped for breaking a limit, resets the
/// run and is replaced after <c>respawn_delay</c>. Time comes from the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed class RespawnPolicy
{
    /// <summary>A worker that dies sooner than this after its start is treated as unable to run.</summary>
    public static readonly TimeSpan QuickDeathWindow = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(600);

    private readonly WatchdogSettings _settings;
    private readonly TimeProvider _time;
    private long _startedAt;
    private bool _running;

    public RespawnPolicy(WatchdogSettings settings, TimeProvider time)
    {
        _settings = settings;
        _time = time;
    }

    /// <summary>Quick deaths in a row so far.</summary>
    public int QuickDeaths { get; private set; }

    public void WorkerStarted()
    {
        _startedAt = _time.GetTimestamp();
        _running = true;
    }

    /// <param name="stoppedByWatcher">True when the watcher stopped the worker for breaking a limit.</param>
    public RespawnDecision WorkerEnded(bool stoppedByWatcher)
    {
        var uptime = _running ? _time.GetElapsedTime(_startedAt) : TimeSpan.Zero;
        _running = false;
        var quick = !stoppedByWatcher && uptime < QuickDeathWindow;
        if (!quick)
        {
            QuickDeaths = 0;
            return new RespawnDecision(false, _settings.RespawnDelay, uptime, false, 0);
        }

        QuickDeaths++;
        if (QuickDeaths >= _settings.RespawnLimit)
        {
            return new RespawnDecision(true, TimeSpan.Zero, uptime, true, QuickDeaths);
        }

        return new RespawnDecision(false, Backoff(_settings.RespawnDelay, QuickDeaths), uptime, true, QuickDeaths);
    }

    /// <summary>min(600 s, respawn_delay + 2^N s) for the N-th quick death in a row.</summary>
    public static TimeSpan Backoff(TimeSpan respawnDelay, int quickDeaths)
    {
        var exponent = Math.Min(quickDeaths, 10); // 2^10 s already exceeds the cap
        var delay = respawnDelay + TimeSpan.FromSeconds(1 << exponent);
        return delay < MaxBackoff ? delay : MaxBackoff;
    }
}
