using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class SystemdNotifierTests
{
    internal static Socket Listen(string name)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(name[0] == '@' ? "\0" + name[1..] : name));
        socket.ReceiveTimeout = 5000;
        return socket;
    }

    internal static string Receive(Socket socket)
    {
        var buffer = new byte[4096];
        var n = socket.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    [Fact]
    public void SendsToASocketPath()
    {
        var dir = Directory.CreateTempSubdirectory("shipper-notify-");
        try
        {
            var path = Path.Combine(dir.FullName, "notify.sock");
            using var systemd = Listen(path);
            using var notifier = new SystemdNotifier(path);
            notifier.Send("READY=1");
            Assert.Equal("READY=1", Receive(systemd));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void AnAtSignMeansTheAbstractNamespace()
    {
        var name = "@shipper-test-" + Guid.NewGuid().ToString("N");
        using var systemd = Listen(name);
        using var notifier = new SystemdNotifier(name);
        notifier.Send("WATCHDOG=1");
        Assert.Equal("WATCHDOG=1", Receive(systemd));
    }

    [Theory]
    [InlineData("")]
    [InlineData("relative/path")]
    [InlineData("@")]
    public void ABadSocketNameIsRefused(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => new SystemdNotifier(name));
        Assert.Contains("NOTIFY_SOCKET", error.Message);
    }

    [Theory]
    [InlineData("30000000", null, 30.0)]
    [InlineData("30000000", "100", 30.0)] // our own pid
    [InlineData("30000000", "200", 30.0)] // the watcher's pid: the unit's main process
    [InlineData("30000000", "300", null)] // someone else's
    [InlineData("0", null, null)]
    [InlineData("soon", null, null)]
    [InlineData(null, null, null)]
    public void WatchdogTimeoutFollowsWatchdogUsecAndPid(string? usec, string? pid, double? seconds)
    {
        var timeout = SystemdNotifier.WatchdogTimeout(usec, pid, ownPid: 100, watcherPid: 200);
        Assert.Equal(seconds, timeout?.TotalSeconds);
    }

    [Fact]
    public void HeartbeatSaysReadyThenPingsEveryHalfTimeoutWhileHealthy()
    {
        var name = "@shipper-test-" + Guid.NewGuid().ToString("N");
        using var systemd = Listen(name);
        var time = new FakeTimeProvider();
        var healthy = true;
        using var heartbeat = new SystemdHeartbeat(new SystemdNotifier(name), TimeSpan.FromSeconds(20), () => healthy ? null : "the test says so", new CapturedLog().Logger("systemd"), time);

        heartbeat.Ready();
        Assert.Equal("READY=1", Receive(systemd));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("WATCHDOG=1", Receive(systemd));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("WATCHDOG=1", Receive(systemd));
        Assert.Equal(2, heartbeat.Pings);

        healthy = false;
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(2, heartbeat.Pings);

        heartbeat.Stopping();
        Assert.Equal("STOPPING=1", Receive(systemd));
    }

    [Fact]
    public void ANotifierWithNobodyListeningWarnsOnceAndCarriesOn()
    {
        var log = new CapturedLog();
        using var heartbeat = new SystemdHeartbeat(new SystemdNotifier("@shipper-nobody-" + Guid.NewGuid().ToString("N")), null, () => null, log.Logger("systemd"), new FakeTimeProvider());
        heartbeat.Ready();
        heartbeat.Beat();
        heartbeat.Beat();
        Assert.Single(log.Lines, l => l.Contains("cannot notify systemd"));
        Assert.Equal(0, heartbeat.Pings);
    }
}
