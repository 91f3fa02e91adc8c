using System.Globalization;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Watchdog;

/// <summary>
/// Proves to the watcher that the worker makes progress: every period a thread-pool timer sends
/// <c>heartbeat &lt;positions&gt;</c> over the <see cref="WatcherLink"/>, but only while every loop registered in
/// <see cref="WorkerProgress"/> (the netlink reader, which comes round at least every 50 ms even on an idle
/// host) has turned within half of <c>watchdog.heartbeat_timeout</c>. So a stopped process (SIGSTOP, a frozen
/// cgroup), a starved thread pool (the timer does not fire) and a reader stuck in a syscall or deadlocked all
/// silence it, while a busy worker, whose loops turn faster, does not. The watcher kills the worker when the
/// heartbeats stop for heartbeat_timeout.
/// </summary>
public sealed class WorkerHeartbeat : IDisposable
{
    private readonly WatcherLink _link;
    private readonly WorkerProgress _progress;
    private readonly TimeSpan _loopPatience;
    private readonly TimeSpan _period;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private readonly Dictionary<LoopTurns, (long Count, long At)> _seen = new();
    private readonly object _beating = new();
    private ITimer? _timer;
    private string? _withheldFor;

    /// <param name="timeout"><c>watchdog.heartbeat_timeout</c>: the loops may pause for half of it.</param>
    /// <param name="period">How often to send; a fraction of the timeout so that one late beat is not a kill.</param>
    public WorkerHeartbeat(WatcherLink link, WorkerProgress progress, TimeSpan timeout, TimeSpan period, Logger log, TimeProvider time)
    {
        _link = link;
        _progress = progress;
        _loopPatience = timeout / 2;
        _period = period;
        _log = log;
        _time = time;
    }

    /// <summary>Sends the first heartbeat now, then one every period.</summary>
    public void Start()
    {
        Beat();
        _timer = _time.CreateTimer(static state => ((WorkerHeartbeat)state!).Beat(), this, _period, _period);
    }

    /// <summary>One period: check the loops, then send (or withhold) the heartbeat.</summary>
    public void Beat()
    {
        // A timer callback that ran late must not overlap the next one.
        if (!Monitor.TryEnter(_beating))
        {
            return;
        }

        try
        {
            var stuck = StuckLoop();
            if (stuck is not null)
            {
                if (_withheldFor is null)
                {
                    _log.Error($"heartbeat withheld: {stuck}; the watcher restarts this worker (pid {Environment.ProcessId}) unless it recovers");
                }

                _withheldFor = stuck;
                return;
            }

            if (_withheldFor is not null)
            {
                _log.Warn("heartbeat resumed: every loop turns again");
                _withheldFor = null;
            }

            // Not sent (the watcher does not read): nothing to do but try again next period.
            _link.TrySend(WorkerLink.HeartbeatPrefix + _progress.Positions());
        }
        finally
        {
            Monitor.Exit(_beating);
        }
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>The first registered loop that has not turned within its patience, described; null when all turn.</summary>
    private string? StuckLoop()
    {
        var now = _time.GetTimestamp();
        var loops = _progress.Loops();
        string? stuck = null;
        foreach (var loop in loops)
        {
            var count = loop.Count;
            if (!_seen.TryGetValue(loop, out var last) || last.Count != count)
            {
                _seen[loop] = (count, now);
                continue;
            }

            var quiet = _time.GetElapsedTime(last.At, now);
            if (quiet > _loopPatience && stuck is null)
            {
                stuck = string.Create(CultureInfo.InvariantCulture, $"the {loop.Name} has not turned for {quiet.TotalSeconds:0.0}s (over half of watchdog.heartbeat_timeout)");
            }
        }

        if (_seen.Count > loops.Length)
        {
            // Forget loops that ended.
            foreach (var gone in _seen.Keys.Where(k => Array.IndexOf(loops, k) < 0).ToList())
            {
                _seen.Remove(gone);
            }
        }

        return stuck;
    }
}
