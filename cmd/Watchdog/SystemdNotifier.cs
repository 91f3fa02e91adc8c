using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Shipper.Watchdog;

/// <summary>
/// sd_notify(3) without libsystemd: datagrams such as <c>READY=1</c> or <c>WATCHDOG=1</c> to the unix socket
/// named by <c>NOTIFY_SOCKET</c>. A name starting with '@' is in the abstract namespace.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    public const string SocketVariable = "NOTIFY_SOCKET";

    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endPoint;

    public SystemdNotifier(string socketName)
    {
        if (socketName.Length < 2 || (socketName[0] != '/' && socketName[0] != '@'))
        {
            throw new ArgumentException($"{SocketVariable} must be an absolute path or start with '@' (abstract namespace), got '{socketName}'", nameof(socketName));
        }

        SocketName = socketName;
        _endPoint = new UnixDomainSocketEndPoint(socketName[0] == '@' ? "\0" + socketName[1..] : socketName);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public string SocketName { get; }

    /// <summary>A notifier for systemd's socket, or null when we were not started by systemd with Type=notify.</summary>
    public static SystemdNotifier? FromEnvironment(Func<string, string?> environment)
    {
        var name = environment(SocketVariable);
        return string.IsNullOrEmpty(name) ? null : new SystemdNotifier(name);
    }

    /// <summary>
    /// The WatchdogSec= timeout from <c>WATCHDOG_USEC</c>, when it is meant for us: <c>WATCHDOG_PID</c> names
    /// this process, or the watcher that started us (systemd sets it to the main pid, which is the watcher;
    /// the unit's NotifyAccess=all lets the worker ping).
    /// </summary>
    public static TimeSpan? WatchdogTimeoutFromEnvironment(int? watcherPid, Func<string, string?> environment) =>
        WatchdogTimeout(environment("WATCHDOG_USEC"), environment("WATCHDOG_PID"), Environment.ProcessId, watcherPid);

    /// <summary>The rule of <see cref="WatchdogTimeoutFromEnvironment"/> over given values.</summary>
    public static TimeSpan? WatchdogTimeout(string? watchdogUsec, string? watchdogPid, int ownPid, int? watcherPid)
    {
        if (string.IsNullOrEmpty(watchdogUsec) || !long.TryParse(watchdogUsec, NumberStyles.None, CultureInfo.InvariantCulture, out var micro) || micro <= 0)
        {
            return null;
        }

        if (!string.IsNullOrEmpty(watchdogPid))
        {
            if (!int.TryParse(watchdogPid, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || (pid != ownPid && pid != watcherPid))
            {
                return null;
            }
        }

        return TimeSpan.FromTicks(micro * 10);
    }

    /// <summary>Sends one notification (several may be joined with newlines). Throws SocketException when systemd is not listening.</summary>
    public void Send(string state)
    {
        _socket.SendTo(Encoding.UTF8.GetBytes(state), _endPoint);
    }

    public void Dispose() => _socket.Dispose();
}
