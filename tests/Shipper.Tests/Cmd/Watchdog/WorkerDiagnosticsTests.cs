using Shipper.Module.Monitoring;
using Shipper.Tests.Support;
using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class WorkerDiagnosticsTests
{
    private sealed class Progress : IPublisherProgress
    {
        public long ActiveEvents => 321;

        public DateTimeOffset LastAck => new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

        public string? LastOutputError => "HTTP 503 Service Unavailable";
    }

    [Fact]
    public void SnapshotHoldsMetricsQueueAndTrackedProcesses()
    {
        var registry = new MetricsRegistry();
        registry.Counter("pipeline.events.total").Add(12);
        registry.Text("watchdog.last_kill_reason").Set("cpu 50%");
        var processes = Enumerable.Range(1, WorkerDiagnostics.MaxProcessLines + 7).Select(i => $"pid {i} /usr/bin/thing");
        var lines = new WorkerDiagnostics(registry, new Progress(), () => processes).Snapshot();

        Assert.Equal("metrics: pipeline.events.total=12 watchdog.last_kill_reason=\"cpu 50%\"", lines[0]);
        Assert.Equal("publisher: 321 events queued or in flight, last ack 2025-01-02T03:04:05.0000000+00:00, output's last error: HTTP 503 Service Unavailable", lines[1]);
        Assert.Equal($"tracked processes: {WorkerDiagnostics.MaxProcessLines + 7}", lines[2]);
        Assert.Equal("  pid 1 /usr/bin/thing", lines[3]);
        Assert.Equal("  … and 7 more", lines[^1]);
        Assert.Equal(3 + WorkerDiagnostics.MaxProcessLines + 1, lines.Count);
    }

    [Fact]
    public void AFailingSourceIsReportedAndTheRestStillComesOut()
    {
        var lines = new WorkerDiagnostics(new MetricsRegistry(), null, () => throw new InvalidOperationException("table busy")).Snapshot();
        Assert.Equal(new[] { "metrics:", "tracked processes: unavailable (InvalidOperationException: table busy)" }, lines);
    }

    [KernelFact]
    public void SigUsr1LogsTheSnapshot()
    {
        var registry = new MetricsRegistry();
        registry.Gauge("queue.depth").Set(5);
        var log = new CapturedLog();
        using (new WorkerDiagnostics(registry).ListenForSignal(log.Logger("watchdog")))
        {
            Assert.True(LibCForTests.Kill(Environment.ProcessId, 10) == 0);
            log.WaitFor("diagnostics: metrics: queue.depth=5", TimeSpan.FromSeconds(5));
        }

        Assert.Contains(log.Lines, l => l.Contains("diagnostic snapshot (SIGUSR1)"));
    }
}
