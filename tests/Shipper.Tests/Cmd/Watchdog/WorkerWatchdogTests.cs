using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Config;
using Shipper.Publisher;
using Shipper.Tests.Support;
using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class WorkerWatchdogTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Every datagram systemd has received so far, without waiting for more.</summary>
    private static List<string> Pending(Socket systemd)
    {
        var received = new List<string>();
        while (systemd.Available > 0)
        {
            received.Add(SystemdNotifierTests.Receive(systemd));
        }

        return received;
    }

    [Fact]
    public async Task SystemdPingsStopWhileThePublisherIsStalledAndResumeOnceItAcknowledges()
    {
        var time = new FakeTimeProvider();
        var metrics = new MetricsRegistry();
        var output = new RecordingOutput();
        output.Stall();
        var pipeline = new Pipeline(new QueueSettings(100, 1, TimeSpan.Zero), output, 10, 1, metrics, Logger.Null, time);
        pipeline.Start();

        var socketName = "@shipper-test-" + Guid.NewGuid().ToString("N");
        using var systemd = SystemdNotifierTests.Listen(socketName);
        var environment = new Dictionary<string, string>
        {
            [SystemdNotifier.SocketVariable] = socketName,
            ["WATCHDOG_USEC"] = (20 * 1_000_000).ToString(CultureInfo.InvariantCulture),
        };
        var log = new CapturedLog();
        var settings = new WatchdogSettings { PublisherStall = TimeSpan.FromSeconds(30) };

        // No health check passed in: the watchdog must tie the pings to the publisher on its own.
        using var watchdog = WorkerWatchdog.Start(settings, log.Logger("watchdog"), metrics, _ => { }, pipeline, time: time, environment: environment.GetValueOrDefault);
        watchdog.Ready();
        Assert.Equal("READY=1", SystemdNotifierTests.Receive(systemd));

        // A quiet pipeline is healthy: a ping every WatchdogSec/2.
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(new[] { "WATCHDOG=1" }, Pending(systemd));

        // Events queued, the output takes them and never answers.
        for (var i = 0; i < 5; i++)
        {
            await pipeline.PublishAsync(TestEvents.Create(i), CancellationToken.None);
        }

        Assert.Equal(5, pipeline.ActiveEvents);
        var step = TimeSpan.FromSeconds(1);
        var waited = TimeSpan.Zero;
        while (!watchdog.StallDetector!.IsStalled)
        {
            Assert.True(waited < settings.PublisherStall + TimeSpan.FromSeconds(10), "no stall reported");
            time.Advance(step);
            waited += step;
        }

        Assert.True(waited >= settings.PublisherStall, $"stalled after {waited}, before watchdog.publisher_stall");
        Pending(systemd); // pings sent before the stall was seen

        // Three times WatchdogSec without a ping: systemd would have restarted the shipper long before.
        for (var i = 0; i < 60; i++)
        {
            time.Advance(step);
        }

        Assert.Empty(Pending(systemd));
        var stopped = Assert.Single(log.Lines, l => l.Contains("systemd watchdog: the publisher is stalled", StringComparison.Ordinal));
        Assert.StartsWith("Warning", stopped);
        Assert.Contains("WATCHDOG=1 pings stop, so systemd restarts the shipper after WatchdogSec=20s", stopped);

        // The output answers: the ack is progress, and the pings come back (the detector notices within its
        // check period, the next ping follows within WatchdogSec/2).
        output.Release();
        await Eventually.True(() => pipeline.ActiveEvents == 0, Patience);
        for (var i = 0; i < 20; i++)
        {
            time.Advance(step);
        }

        var pings = Pending(systemd);
        Assert.NotEmpty(pings);
        Assert.All(pings, p => Assert.Equal("WATCHDOG=1", p));
        var resumed = Assert.Single(log.Lines, l => l.Contains("systemd watchdog: WATCHDOG=1 pings resume", StringComparison.Ordinal));
        Assert.StartsWith("Info", resumed);
        Assert.Single(log.Lines, l => l.Contains("systemd watchdog: the publisher is stalled", StringComparison.Ordinal));

        await pipeline.DrainAsync(Patience);
    }
}
