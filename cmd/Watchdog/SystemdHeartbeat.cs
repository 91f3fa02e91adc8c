using System.Globalization;
using System.Net.Sockets;
using Shipper.Module.Config;
using Shipper.Module.Logging;

namespace Shipper.Watchdog;

/// <summary>
/// Tells systemd how the shipper is doing: <c>READY=1</c> once it runs, <c>WATCHDOG=1</c> every half
/// WatchdogSec= while nothing holds the pings back (so a hung or stuck worker gets restarted by systemd), and
/// <c>STOPPING=1</c> when it stops. Inert when NOTIFY_SOCKET is not set.
/// </summary>
public sealed class SystemdHeartbeat : IDisposable
{
    private readonly SystemdNotifier _notifier;
    private readonly TimeSpan? _watchdogTimeout;
    private readonly Func<string?> _withholdReason;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private ITimer? _timer;
    private bool _warned;
    private string? _withheldFor;
    private DateTimeOffset _withheldSince;

    /// <param name="withholdReason">
    /// Why pings must stop now ("the publisher is stalled"), or null while they may go on. Asked before every
    /// ping, from the timer's thread.
    /// </param>
    public SystemdHeartbeat(SystemdNotifier notifier, TimeSpan? watchdogTimeout, Func<string?> withholdReason, Logger log, TimeProvider time)
    {
        _notifier = notifier;
        _watchdogTimeout = watchdogTimeout;
        _withholdReason = withholdReason;
        _log = log;
        _time = time;
    }

    /// <summary>Pings sent so far.</summary>
    public long Pings { get; private set; }

    /// <summary>
    /// A heartbeat for systemd's socket, or null when not running under systemd. <paramref name="environment"/>
    /// reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.
    /// </summary>
    public static SystemdHeartbeat? FromEnvironment(int? watcherPid, Func<string?> withholdReason, Logger log, TimeProvider time, Func<string, string?> environment)
    {
        SystemdNotifier? notifier;
        try
        {
            notifier = SystemdNotifier.FromEnvironment(environment);
        }
        catch (ArgumentException e)
        {
            log.Warn($"systemd notification disabled: {e.Message}");
            return null;
        }

        return notifier is null ? null : new SystemdHeartbeat(notifier, SystemdNotifier.WatchdogTimeoutFromEnvironment(watcherPid, environment), withholdReason, log, time);
    }

    public void Ready()
    {
        TrySend("READY=1");
        if (_watchdogTimeout is { } timeout && _timer is null)
        {
            var period = timeout / 2;
            _timer = _time.CreateTimer(static state => ((SystemdHeartbeat)state!).Beat(), this, period, period);
        }
    }

    public void Stopping()
    {
        _timer?.Dispose();
        TrySend("STOPPING=1");
    }

    /// <summary>One WATCHDOG=1 ping, unless something holds it back.</summary>
    public void Beat()
    {
        string? reason;
        try
        {
            reason = _withholdReason();
        }
        catch (Exception e)
        {
            reason = $"the health check fails ({e.Message})";
        }

        lock (_gate)
        {
            if (reason is not null)
            {
                // Once per episode: the pings stay off until systemd restarts us, and a line per period would
                // only bury the one that says why.
                if (_withheldFor is null)
                {
                    _withheldFor = reason;
                    _withheldSince = _time.GetUtcNow();
                    var deadline = _watchdogTimeout is { } timeout ? $" after WatchdogSec={ValueParsers.FormatDuration(timeout)}" : "";
                    _log.Warn($"systemd watchdog: {reason}; WATCHDOG=1 pings stop, so systemd restarts the shipper{deadline} unless it recovers");
                }

                return;
            }

            if (_withheldFor is not null)
            {
                _log.Info(string.Create(CultureInfo.InvariantCulture,
                    $"systemd watchdog: WATCHDOG=1 pings resume, {(_time.GetUtcNow() - _withheldSince).TotalSeconds:0.#}s after they stopped because {_withheldFor}"));
                _withheldFor = null;
            }

            if (TrySend("WATCHDOG=1"))
            {
                Pings++;
            }
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _notifier.Dispose();
    }

    private bool TrySend(string state)
    {
        try
        {
            _notifier.Send(state);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            if (!_warned)
            {
                _warned = true;
                _log.Warn($"cannot notify systemd at {_notifier.SocketName} ({state}): {e.Message}");
            }

            return false;
        }
    }
}
