using Microsoft.Extensions.Time.Testing;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Monitoring;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Monitoring;

/// <summary>
/// Losses are said at WARN as they happen, at most one line per counter per interval, each line with the count
/// since the counter's last line and the total; driven by the injected clock (its own timer included).
/// </summary>
public class LossReporterTests
{
    private static List<string> Warnings(CollectingLogSink sink) =>
        sink.Lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task EachCounterGetsOneLinePerIntervalWithWhatCameSinceAndTheTotal()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 18, 0, 0, TimeSpan.Zero));
        var metrics = new MetricsRegistry();
        var lost = metrics.Counter("process.lost");
        var dropped = metrics.Counter("pipeline.events.dropped");
        metrics.Counter("output.events.dropped").Add(1000); // the same events as pipeline.events.dropped: no line of its own
        var sink = new CollectingLogSink();
        var reporter = new LossReporter(metrics, new Logger(sink, "monitoring"), time, TimeSpan.FromSeconds(10));
        using var stop = new CancellationTokenSource();
        var running = reporter.RunAsync(stop.Token);

        // Nothing lost: nothing said.
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Empty(Warnings(sink));

        // A loss is said within a second.
        lost.Add(8000);
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => Warnings(sink).Count == 1, TimeSpan.FromSeconds(5));
        Assert.Equal("Warning [monitoring] 8000 events lost (process.lost: kernel process events missed) since the last line about it; 8000 in all", Warnings(sink)[0]);

        // More losses every second for 9 s: no second line until 10 s after the first.
        for (var second = 0; second < 9; second++)
        {
            lost.Add(40);
            dropped.Add(1);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        await Eventually.True(() => Warnings(sink).Count == 2, TimeSpan.FromSeconds(5));
        // Another counter has its own interval: its first loss is said at once (how many depends on which tick saw it).
        Assert.Matches(@"^Warning \[monitoring\] \d events lost \(pipeline\.events\.dropped: .*\) since the last line about it; \d in all$", Warnings(sink)[1]);
        lost.Add(40);
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => Warnings(sink).Count == 3, TimeSpan.FromSeconds(5));
        Assert.Equal("Warning [monitoring] 400 events lost (process.lost: kernel process events missed) since the last line about it; 8400 in all", Warnings(sink)[2]);

        stop.Cancel();
        await running;
        Assert.Equal(3, Warnings(sink).Count);
        Assert.Equal([("process.lost", 8400L), ("pipeline.events.dropped", 9L)], LossReporter.Losses(metrics));
        Assert.DoesNotContain(Warnings(sink), l => l.Contains("output.events.dropped"));
    }
}
