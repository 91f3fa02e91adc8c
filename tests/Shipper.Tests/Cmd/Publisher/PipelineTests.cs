using Microsoft.Extensions.Time.Testing;
using Shipper.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Publisher;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Publisher;

public class PipelineTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static long Metric(MetricsRegistry metrics, string name) =>
        metrics.Snapshot().Single(m => m.Name == name).Number;

    [Fact]
    public async Task EveryEventIsAcknowledgedExactlyOnce()
    {
        var metrics = new MetricsRegistry();
        var output = new RecordingOutput();
        var pipeline = new Pipeline(new QueueSettings(64, 16, TimeSpan.FromSeconds(1)), output, 16, 1, metrics, Logger.Null, TimeProvider.System);
        pipeline.Start();
        for (var i = 0; i < 500; i++)
        {
            await pipeline.PublishAsync(TestEvents.Create(i), CancellationToken.None);
        }

        Assert.Equal(0, await pipeline.DrainAsync(Patience));
        Assert.Equal(Enumerable.Range(0, 500), output.Delivered);
        Assert.Equal(500, Metric(metrics, "pipeline.events.total"));
        Assert.Equal(500, Metric(metrics, "pipeline.events.published"));
        Assert.Equal(500, Metric(metrics, "pipeline.queue.acked"));
        Assert.Equal(500, Metric(metrics, "output.events.acked"));
        Assert.Equal(0, Metric(metrics, "pipeline.events.active"));
        Assert.All(output.BatchSizes, size => Assert.InRange(size, 1, 16));
    }

    [Fact]
    public async Task RetriedEventsAreDeliveredAndCountedAsFailedNotLost()
    {
        var metrics = new MetricsRegistry();
        var output = new RecordingOutput();
        output.RetryNextBatches(3);
        var pipeline = new Pipeline(new QueueSettings(64, 10, TimeSpan.FromSeconds(1)), output, 10, 1, metrics, Logger.Null, TimeProvider.System);
        pipeline.Start();
        for (var i = 0; i < 10; i++)
        {
            await pipeline.PublishAsync(TestEvents.Create(i), CancellationToken.None);
        }

        Assert.Equal(0, await pipeline.DrainAsync(Patience));
        Assert.Equal(Enumerable.Range(0, 10), output.Delivered.Order());
        Assert.Equal(10, Metric(metrics, "pipeline.events.published"));
        Assert.True(Metric(metrics, "pipeline.events.retry") >= 10);
    }

    [Fact]
    public async Task AFullQueueMakesProducersWaitInsteadOfDropping()
    {
        var metrics = new MetricsRegistry();
        var output = new RecordingOutput();
        output.Stall();
        var pipeline = new Pipeline(new QueueSettings(8, 4, TimeSpan.Zero), output, 4, 1, metrics, Logger.Null, TimeProvider.System);
        pipeline.Start();

        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                await pipeline.PublishAsync(TestEvents.Create(i), CancellationToken.None);
            }
        });

        // The queue holds 8 and the stalled output at most one batch of 4 (none yet, or 1 to 4, depending on
        // when the worker took it): the producer must be blocked on the next event, not dropping.
        await Eventually.True(() => Metric(metrics, "pipeline.queue.blocked") > 0, Patience);
        Assert.False(producer.IsCompleted);
        Assert.Equal(0, Metric(metrics, "pipeline.events.dropped"));
        Assert.InRange(Metric(metrics, "pipeline.events.total"), 8 + 1, 8 + 4 + 1);

        output.Release();
        await producer.WaitAsync(Patience);
        Assert.Equal(0, await pipeline.DrainAsync(Patience));
        Assert.Equal(Enumerable.Range(0, 40), output.Delivered);
    }

    [Fact]
    public async Task ShutdownDrainsTheQueueToTheOutput()
    {
        var output = new RecordingOutput();
        output.Stall();
        var metrics = new MetricsRegistry();
        var pipeline = new Pipeline(new QueueSettings(100, 10, TimeSpan.Zero), output, 10, 1, metrics, Logger.Null, TimeProvider.System);
        pipeline.Start();
        for (var i = 0; i < 50; i++)
        {
            await pipeline.PublishAsync(TestEvents.Create(i), CancellationToken.None);
        }

        var drain = pipeline.DrainAsync(Patience);
        output.Release();
        Assert.Equal(0, await drain);
        Assert.Equal(50, output.Delivered.Count);
    }

    [Fact]
    public async Task ShutdownTimeoutReportsWhatCouldNotBeDelivered()
    {
        var output = new RecordingOutput();
        output.Stall();
        var sink = new CollectingLogSink();
        var metrics = new MetricsRegistry();
        var pipeline = new Pipeline(new QueueSettings(100, 10, TimeSpan.Zero), output, 10, 1, metrics, new Logger(sink, "publisher"), TimeProvider.System);
        pipeline.Start();
        for (var i = 0; i < 25; i++)
        {
            await pipeline.PublishAsync(TestEvents.Create(i), CancellationToken.None);
        }

        var stopwatch = global::System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(25, await pipeline.DrainAsync(TimeSpan.FromMilliseconds(200)));
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(150), Pipeline.OutputStopGrace);
        Assert.Contains(sink.Lines, l => l.Contains("25 events could not be delivered"));
        Assert.Equal(25, Metric(metrics, "pipeline.events.undelivered"));
        Assert.Equal(0, Metric(metrics, "pipeline.events.active"));
        Assert.Equal(0, Metric(metrics, "pipeline.events.published"));

        // The batch the cancelled output handed back is not sent again (it was, at once and forever).
        Assert.Equal(1, Metric(metrics, "output.events.batches"));
        await Task.Delay(100);
        Assert.Equal(1, Metric(metrics, "output.events.batches"));
    }

    [Fact]
    public async Task ShutdownWithTheRealElasticsearchOutputUnreachableEndsWithinTheTimeoutAndCountsTheLoss()
    {
        // Nothing listens on this port: every bulk request fails with "connection refused" and the output backs off.
        int port;
        using (var probe = new global::System.Net.Sockets.TcpListener(global::System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((global::System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using var harness = new OutputHarness($"hosts: [\"http://127.0.0.1:{port}\"]\nbackoff.init: 1s\nbackoff.max: 60s");
        var metrics = new MetricsRegistry();
        var sink = new CollectingLogSink();
        var pipeline = new Pipeline(new QueueSettings(4096, 50, TimeSpan.FromSeconds(1)), harness.Output, 50, 2, metrics, new Logger(sink, "publisher"), TimeProvider.System);
        pipeline.Start();
        for (var i = 0; i < 200; i++)
        {
            await pipeline.PublishAsync(TestEvents.Create(i), CancellationToken.None);
        }

        await Eventually.True(() => harness.Metric("output.write.errors") + Metric(metrics, "output.events.failed") > 0, Patience);
        var stopwatch = global::System.Diagnostics.Stopwatch.StartNew();
        var lost = await pipeline.DrainAsync(TimeSpan.FromSeconds(1));
        var took = stopwatch.Elapsed;
        var batchesAtStop = Metric(metrics, "output.events.batches");

        Assert.Equal(200, lost);
        Assert.InRange(took, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(1) + Pipeline.OutputStopGrace);
        Assert.Equal(200, Metric(metrics, "pipeline.events.undelivered"));
        Assert.Equal(0, Metric(metrics, "pipeline.events.active"));
        Assert.Contains(sink.Lines, l => l.Contains("200 events could not be delivered"));

        // Nothing keeps sending after the stop (the bug: a cancelled output's retry went out again at once, forever).
        await Task.Delay(300);
        Assert.Equal(batchesAtStop, Metric(metrics, "output.events.batches"));
    }

    [Fact]
    public async Task AFullBatchGoesOutAtOnceAndAnIdleQueueFlushesWithoutWaitingTheTimeout()
    {
        var time = new FakeTimeProvider();
        var output = new RecordingOutput();
        var pipeline = new Pipeline(new QueueSettings(100, 5, TimeSpan.FromSeconds(10)), output, 5, 1, new MetricsRegistry(), Logger.Null, time);

        // Queue 12 before the worker starts: two full batches need no clock at all.
        for (var i = 0; i < 12; i++)
        {
            await pipeline.PublishAsync(TestEvents.Create(i), CancellationToken.None);
        }

        pipeline.Start();
        await Eventually.True(() => output.BatchSizes.Count >= 2, Patience);
        Assert.Equal(new[] { 5, 5 }, output.BatchSizes.Take(2));

        // The remaining 2 are below min_events: they leave once the queue has been idle for the idle gap,
        // long before flush.timeout.
        await Task.Delay(50);
        Assert.Equal(2, output.BatchSizes.Count);
        time.Advance(Pipeline.IdleGap);
        await Eventually.True(() => output.BatchSizes.Count == 3, Patience);
        Assert.Equal(2, output.BatchSizes[2]);
        await pipeline.DrainAsync(Patience);
    }

    [Fact]
    public async Task FlushTimeoutZeroSendsWhateverIsThere()
    {
        var output = new RecordingOutput();
        var pipeline = new Pipeline(new QueueSettings(100, 50, TimeSpan.Zero), output, 50, 1, new MetricsRegistry(), Logger.Null, new FakeTimeProvider());
        pipeline.Start();
        await pipeline.PublishAsync(TestEvents.Create(1), CancellationToken.None);
        await Eventually.True(() => output.Delivered.Count == 1, Patience);
        await pipeline.DrainAsync(Patience);
    }
}
