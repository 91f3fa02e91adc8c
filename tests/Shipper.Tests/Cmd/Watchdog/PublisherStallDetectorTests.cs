using Microsoft.Extensions.Time.Testing;
using Shipper.Module.Monitoring;
using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class PublisherStallDetectorTests
{
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(60);

    private sealed class Progress : IPublisherProgress
    {
        public long ActiveEvents { get; set; }

        public DateTimeOffset LastAck { get; set; }

        public string? LastOutputError { get; set; }
    }

    private sealed class Fixture
    {
        public FakeTimeProvider Time { get; } = new();

        public Fixture() => Publisher.LastAck = Time.GetUtcNow();

        public Progress Publisher { get; } = new();

        public CapturedLog Log { get; } = new();

        public Counter Stalls { get; } = new("watchdog.stalls");

        public List<int> ExitRequests { get; } = new();

        public PublisherStallDetector Create(bool exitOnStall = false) =>
            new(Publisher, Stall, exitOnStall, Log.Logger("publisher"), Stalls, ExitRequests.Add, Time);
    }

    /// <summary>Moves the fake clock one timer period at a time, so each check sees its own time.</summary>
    private static void Step(FakeTimeProvider time, TimeSpan total, TimeSpan step)
    {
        for (var done = TimeSpan.Zero; done < total; done += step)
        {
            time.Advance(step);
        }
    }

    [Fact]
    public void AQuietHostIsNeverAStall()
    {
        var f = new Fixture();
        using var detector = f.Create();
        detector.Start();
        f.Time.Advance(TimeSpan.FromHours(2));
        Assert.False(detector.IsStalled);
        Assert.Equal(0, f.Stalls.Value);
    }

    [Fact]
    public void QueuedEventsWithoutAcknowledgementAreAStallOnceThenRecover()
    {
        var f = new Fixture();
        using var detector = f.Create();
        detector.Start();
        f.Publisher.ActiveEvents = 1600;
        f.Publisher.LastOutputError = "dial tcp 127.0.0.1:9200: connect: connection refused";

        Step(f.Time, Stall, detector.CheckPeriod);
        Assert.False(detector.IsStalled);
        Step(f.Time, detector.CheckPeriod, detector.CheckPeriod);
        Assert.True(detector.IsStalled);
        Assert.Equal(1, f.Stalls.Value);
        var line = f.Log.WaitFor("publisher stalled", TimeSpan.Zero);
        Assert.Contains("1600 events queued and no acknowledgement for 60s", line);
        Assert.Contains("output's last error: dial tcp 127.0.0.1:9200: connect: connection refused", line);

        // Still stalled: counted once per stall, not once per check.
        Step(f.Time, TimeSpan.FromMinutes(5), detector.CheckPeriod);
        Assert.Equal(1, f.Stalls.Value);

        f.Publisher.LastAck = f.Time.GetUtcNow();
        f.Publisher.ActiveEvents = 0;
        f.Time.Advance(detector.CheckPeriod);
        Assert.False(detector.IsStalled);
        f.Log.WaitFor("publisher recovered", TimeSpan.Zero);
        Assert.Empty(f.ExitRequests);
    }

    [Fact]
    public void TheClockStartsWhenEventsAreFirstSeenWaitingNotAtTheLastAck()
    {
        var f = new Fixture();
        using var detector = f.Create();
        f.Time.Advance(TimeSpan.FromHours(1));
        Assert.False(detector.Check());

        // An hour of quiet, then one event: not a stall until it has waited the full time.
        f.Publisher.ActiveEvents = 1;
        Assert.False(detector.Check());
        f.Time.Advance(Stall - TimeSpan.FromSeconds(1));
        Assert.False(detector.Check());
        f.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(detector.Check());
    }

    [Fact]
    public void SteadyAcknowledgementsKeepABusyQueueHealthy()
    {
        var f = new Fixture();
        using var detector = f.Create();
        f.Publisher.ActiveEvents = 3200;
        for (var i = 0; i < 100; i++)
        {
            f.Time.Advance(TimeSpan.FromSeconds(30));
            f.Publisher.LastAck = f.Time.GetUtcNow();
            Assert.False(detector.Check());
        }
    }

    [Fact]
    public void WithExitOnStallTheWorkerIsAskedToExitForAFreshOne()
    {
        var f = new Fixture();
        using var detector = f.Create(exitOnStall: true);
        f.Publisher.ActiveEvents = 5;
        detector.Check();
        f.Time.Advance(Stall);
        Assert.True(detector.Check());
        Assert.Equal(new[] { WorkerExitCodes.PublisherStalled }, f.ExitRequests);
        f.Log.WaitFor("output's last error: none reported", TimeSpan.Zero);
    }
}
