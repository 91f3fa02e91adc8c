using Shipper.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Tracking;
using Shipper.Publisher;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Publisher;

/// <summary>
/// <c>queue.mem.bytes</c> with the real pipeline and real process documents carrying 1 MiB command lines: the
/// byte bound holds the producer back long before the event bound is near, as the event bound does (it waits,
/// counted in <c>pipeline.queue.blocked</c>; a producer that gives up is counted in <c>pipeline.events.dropped</c>).
/// Without it, 300 such documents took about 600 MB and the watchdog killed the worker.
/// </summary>
public class MemoryQueueByteBoundTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private const long Bound = 8L * 1024 * 1024;

    private static long Metric(MetricsRegistry metrics, string name) =>
        metrics.Snapshot().Single(m => m.Name == name).Number;

    private static Event LargeDocument(int pid) => new ProcessDocument
    {
        Action = ProcessAction.For(ProcessEvents.Exec),
        Timestamp = DateTime.UtcNow,
        Pid = pid,
        Name = "sleep",
        Args = ["/bin/sleep", new string('x', 1024 * 1024)],
    }.ToEvent();

    private static int PidOf(Event evt) => ((ProcessDocument)evt.Body).Pid;

    [Fact]
    public async Task LargeEventsMakeTheProducerWaitAtTheByteBoundWhileTheEventBoundIsFarOff()
    {
        var metrics = new MetricsRegistry();
        var output = new RecordingOutput(PidOf);
        output.Stall();
        var pipeline = new Pipeline(new QueueSettings(3200, 1, TimeSpan.Zero, Bound), output, 1, 1, metrics, Logger.Null, TimeProvider.System);
        pipeline.Start();

        var producer = Task.Run(async () =>
        {
            for (var pid = 1; pid <= 20; pid++)
            {
                await pipeline.PublishAsync(LargeDocument(pid), CancellationToken.None);
            }
        });

        // Each document counts about 2 MiB (1 MiB of UTF-16 text): three fit in 8 MiB, in the queue or in the
        // stalled output's hands, and the fourth waits.
        await Eventually.True(() => Metric(metrics, "pipeline.queue.blocked") > 0, Patience);
        await Task.Delay(200);
        Assert.False(producer.IsCompleted);
        Assert.Equal(4, Metric(metrics, "pipeline.events.total"));
        Assert.InRange(Metric(metrics, "pipeline.queue.filled.bytes"), 3 * 2L * 1024 * 1024, Bound);
        Assert.True(pipeline.QueuedEvents < 3200);
        Assert.Equal(0, Metric(metrics, "pipeline.events.dropped"));

        output.Release();
        await producer.WaitAsync(Patience);
        Assert.Equal(0, await pipeline.DrainAsync(Patience));
        Assert.Equal(Enumerable.Range(1, 20), output.Delivered);
        Assert.Equal(0, Metric(metrics, "pipeline.queue.filled.bytes"));
    }

    [Fact]
    public async Task AProducerThatGivesUpAtTheByteBoundIsCountedAsDropped()
    {
        var metrics = new MetricsRegistry();
        var output = new RecordingOutput(PidOf);
        output.Stall();
        var pipeline = new Pipeline(new QueueSettings(3200, 1, TimeSpan.Zero, Bound), output, 1, 1, metrics, Logger.Null, TimeProvider.System);
        pipeline.Start();
        for (var pid = 1; pid <= 3; pid++)
        {
            await pipeline.PublishAsync(LargeDocument(pid), CancellationToken.None);
        }

        using var giveUp = new CancellationTokenSource();
        var blocked = pipeline.PublishAsync(LargeDocument(4), giveUp.Token).AsTask();
        await Task.Delay(100);
        Assert.False(blocked.IsCompleted);
        giveUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.WaitAsync(Patience));
        Assert.Equal(1, Metric(metrics, "pipeline.events.dropped"));

        // At shutdown a producer still waiting finds the queue closed, and its event is counted the same way.
        var late = pipeline.PublishAsync(LargeDocument(5), CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.False(late.IsCompleted);
        var drain = pipeline.DrainAsync(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<System.Threading.Channels.ChannelClosedException>(() => late.WaitAsync(Patience));
        Assert.Equal(3, await drain);
        Assert.Equal(2, Metric(metrics, "pipeline.events.dropped"));
        Assert.Equal(0, Metric(metrics, "pipeline.events.active"));
    }
}
