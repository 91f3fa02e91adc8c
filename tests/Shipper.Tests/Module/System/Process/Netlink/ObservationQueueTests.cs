using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Netlink;

namespace Shipper.Tests.Module.System.Process.Netlink;

public class ObservationQueueTests
{
    private static ProcessObservation Item(int pid) =>
        new(new ProcConnectorEvent(ProcEventType.Exec, 0, 0, pid, pid, 0, 0, 0, 0), null, 0);

    [Fact]
    public void KeepsOrderAcrossSegmentsAndRefusesWhenFull()
    {
        var queue = new ObservationQueue(3000);
        for (var i = 0; i < 3000; i++)
        {
            Assert.True(queue.TryWrite(Item(i)));
        }

        Assert.False(queue.TryWrite(Item(-1)));
        Assert.Equal(3000, queue.Count);
        for (var i = 0; i < 3000; i++)
        {
            Assert.True(queue.TryRead(out var item));
            Assert.Equal(i, item.Event.Pid);
        }

        Assert.False(queue.TryRead(out _));
        Assert.True(queue.TryWrite(Item(5)));
    }

    [Fact]
    public async Task WakesAWaitingReaderAndCompletes()
    {
        var queue = new ObservationQueue(10);
        var wait = queue.WaitToReadAsync().AsTask();
        Assert.False(wait.IsCompleted);
        queue.TryWrite(Item(1));
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(queue.TryRead(out var item));
        Assert.Equal(1, item.Event.Pid);

        queue.TryWrite(Item(2));
        queue.Complete();
        Assert.False(queue.TryWrite(Item(3)));
        Assert.True(await queue.WaitToReadAsync());
        Assert.True(queue.TryRead(out _));
        Assert.False(await queue.WaitToReadAsync());
        await queue.Completion.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AWaitCanBeCancelled()
    {
        var queue = new ObservationQueue(10);
        using var cts = new CancellationTokenSource();
        var wait = queue.WaitToReadAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
    }

    [Fact]
    public async Task ACompletionWithAnErrorFaultsTheReader()
    {
        var queue = new ObservationQueue(10);
        queue.Complete(new InvalidOperationException("boom"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await queue.WaitToReadAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(() => queue.Completion);
    }

    [Fact]
    public async Task OneWriterThreadAndOneReaderLoseAndReorderNothing()
    {
        const int Count = 500_000;
        var queue = new ObservationQueue(4096);
        var writer = new Thread(() =>
        {
            for (var i = 0; i < Count; i++)
            {
                while (!queue.TryWrite(Item(i)))
                {
                    Thread.SpinWait(10);
                }
            }

            queue.Complete();
        });
        writer.Start();

        var expected = 0;
        await foreach (var item in queue.ReadAllAsync())
        {
            Assert.Equal(expected++, item.Event.Pid);
        }

        Assert.Equal(Count, expected);
        writer.Join();
    }
}
