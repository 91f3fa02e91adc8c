using System.Net.Sockets;
using Shipper.Module.Logging;

namespace Shipper.Watchdog;

/// <summary>
/// Tells systemd how the shipper is doing: <c>READY=1</c> once it runs, <c>WATCHDOG=1</c> every half
/// WatchdogSec= while the health check passes (so a hung worker gets restarted by systemd), and
/// <c>STOPPING=1</c> when it stops. Inert when NOTIFY_SOCKET is not set.
/// </summary>
public sealed class SystemdHeartbeat : IDisposable
{
    private readonly SystemdNotifier _notifier;
    private readonly TimeSpan? _watchdogTimeout;
    private readonly Func<bool> _isHealthy;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private ITimer? _timer;
    private bool _warned;

    public SystemdHeartbeat(SystemdNotifier notifier, TimeSpan? watchdogTimeout, Func<bool> isHealthy, Logger log, TimeProvider time)
    {
        _notifier = notifier;
        _watchdogTimeout = watchdogTimeout;
        _isHealthy = isHealthy;
        _log = log;
        _time = time;
    }

    /// <summary>Pings sent so far.</summary>
    public long Pings { get; private set; }

    /// <summary>A heartbeat for systemd's socket, or null when not running under systemd.</summary>
    public static SystemdHeartbeat? FromEnvironment(int? watcherPid, Func<bool> isHealthy, Logger log, TimeProvider time)
    {
        SystemdNotifier? notifier;
        try
        {
            notifier = SystemdNotifier.FromEnvironment();
        }
        catch (ArgumentException e)
        {
            log.Warn($"systemd notification disabled: {e.Message}");
            return null;
        }

        return notifier is null ? null : new SystemdHeartbeat(notifier, SystemdNotifier.WatchdogTimeoutFromEnvironment(watcherPid), isHealthy, log, time);
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

    /// <summary>One WATCHDOG=1 ping, if the health check passes.</summary>
    public void Beat()
    {
        bool healthy;
        try
        {
            healthy = _isHealthy();
        }
        catch (Exception e)
        {
            _log.Warn($"systemd watchdog: health check failed ({e.Message}); not pinging");
            return;
        }

        if (healthy && TrySend("WATCHDOG=1"))
        {
            Pings++;
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
