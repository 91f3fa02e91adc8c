using global::System.Threading.Channels;

namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// The bounded queue from an event source (one writer thread) to the tracker (one reader). Lock-free on
/// purpose: System.Threading.Channels' bounded channel guards every write and read with one lock, and the
/// real-time reader must never wait for a lock a normal-priority tracker holds (priority inversion on a
/// two-core box). Writing never blocks: when the queue holds <see cref="Capacity"/> items the write fails
/// and the caller counts a loss.
/// Storage is a chain of fixed segments allocated as the queue grows and recycled as it drains, so an idle
/// queue holds one segment, not <see cref="Capacity"/> slots.
/// </summary>
public sealed class ObservationQueue : ChannelReader<ProcessObservation>
{
    private const int SegmentSize = 1024;
    private long _owedLoss; // writer side only

    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count;
    private volatile bool _writerCompleted;
    private Exception? _error;
    private TaskCompletionSource<bool>? _waiter;
    private Segment? _spare;
    private bool _busy; // reader-only: the last wait was ended by the writer, so items are flowing

    // Writer-only state.
    private Segment _tail;
    private int _tailIndex;

    // Reader-only state.
    private Segment _head;
    private int _headIndex;

    /// <param name="capacity">Items the queue holds before writes fail.</param>
    /// <param name="batchDelay">
    /// After the reader was woken for an item and has drained the queue, it lingers this long before asking to
    /// be woken again, so a busy stream costs one wake-up per delay instead of one per event (each wake-up is a
    /// thread-pool hop for the reader and a futex call on the writer's real-time thread). Zero wakes per event.
    /// The tracker holds events for up to a second anyway; a couple of milliseconds changes nothing there.
    /// </param>
    public ObservationQueue(int capacity, TimeSpan? batchDelay = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        BatchDelay = batchDelay ?? DefaultBatchDelay;
        _head = _tail = new Segment();
    }

    public static readonly TimeSpan DefaultBatchDelay = TimeSpan.FromMilliseconds(10);

    public TimeSpan BatchDelay { get; }

    public int Capacity { get; }

    public override bool CanCount => true;

    public override int Count => Volatile.Read(ref _count);

    public override Task Completion => _completion.Task;

    /// <summary>Single writer only. False when full or completed; never blocks.</summary>
    public bool TryWrite(in ProcessObservation item)
    {
        if (_writerCompleted || Volatile.Read(ref _count) >= Capacity)
        {
            return false;
        }

        if (_tailIndex == SegmentSize)
        {
            var next = Interlocked.Exchange(ref _spare, null) ?? new Segment();
            next.Next = null;
            Volatile.Write(ref _tail.Next, next);
            _tail = next;
            _tailIndex = 0;
        }

        _tail.Items[_tailIndex++] = item;

        // Full fence: publishes the item before the count, and orders it before reading _waiter (the reader
        // does the mirror image in WaitToReadAsync), so a wake-up is never missed.
        Interlocked.Increment(ref _count);
        WakeReader(true);
        return true;
    }

    /// <summary>
    /// Single writer only. Writes <paramref name="item"/> after any loss notice still owed to the reader (so the
    /// tracker learns of a gap before the events after it); when the queue is full the item is dropped and
    /// owed as loss. Returns false when the item was dropped.
    /// </summary>
    public bool TryWriteOrOweLoss(in ProcessObservation item)
    {
        if (TryFlushLoss() && TryWrite(item))
        {
            return true;
        }

        _owedLoss++;
        return false;
    }

    /// <summary>Single writer only. Events lost elsewhere (the kernel's drops) to announce with the next write.</summary>
    public void OweLoss(long count) => _owedLoss += count;

    /// <summary>Single writer only. Writes the owed loss notice, if any; false when the queue is still full.</summary>
    public bool TryFlushLoss()
    {
        if (_owedLoss == 0)
        {
            return true;
        }

        if (!TryWrite(ProcessObservation.Loss(_owedLoss)))
        {
            return false;
        }

        _owedLoss = 0;
        return true;
    }

    /// <summary>No more writes; the reader drains what is queued, then <see cref="Completion"/> finishes.</summary>
    public void Complete(Exception? error = null)
    {
        if (_writerCompleted)
        {
            return;
        }

        _error = error;
        _writerCompleted = true;
        WakeReader(false);
        CompleteIfDrained();
    }

    /// <summary>Single reader only.</summary>
    public override bool TryRead(out ProcessObservation item)
    {
        if (Volatile.Read(ref _count) == 0)
        {
            item = default;
            CompleteIfDrained();
            return false;
        }

        if (_headIndex == SegmentSize)
        {
            var finished = _head;
            _head = Volatile.Read(ref finished.Next)!;
            _headIndex = 0;
            Volatile.Write(ref _spare, finished);
        }

        item = _head.Items[_headIndex];
        _head.Items[_headIndex++] = default; // drop the sample reference
        Interlocked.Decrement(ref _count);
        return true;
    }

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _count) > 0)
        {
            return new ValueTask<bool>(true);
        }

        if (_writerCompleted)
        {
            return Volatile.Read(ref _count) > 0 ? new ValueTask<bool>(true) : Finished();
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }

        return _busy && BatchDelay > TimeSpan.Zero ? LingerThenWaitAsync(cancellationToken) : WaitForWriterAsync(cancellationToken);
    }

    private async ValueTask<bool> LingerThenWaitAsync(CancellationToken cancellationToken)
    {
        // Busy stream: gather a batch on a timer instead of asking the writer to wake us for the next item.
        await Task.Delay(BatchDelay, cancellationToken).ConfigureAwait(false);
        if (Volatile.Read(ref _count) > 0)
        {
            return true;
        }

        _busy = false; // the stream went quiet: the next wait asks the writer again
        return await WaitToReadAsync(cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<bool> WaitForWriterAsync(CancellationToken cancellationToken)
    {
        // Only reached when the tracker has drained everything: allocation here is off the busy path.
        var waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _waiter, waiter);
        if (Volatile.Read(ref _count) > 0 || _writerCompleted)
        {
            Interlocked.CompareExchange(ref _waiter, null, waiter);
            return Volatile.Read(ref _count) > 0 ? new ValueTask<bool>(true) : WaitToReadAsync(cancellationToken);
        }

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(static state => ((TaskCompletionSource<bool>)state!).TrySetCanceled(), waiter);
            waiter.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        _busy = true;
        return new ValueTask<bool>(waiter.Task);
    }

    private ValueTask<bool> Finished()
    {
        CompleteIfDrained();
        return _error is null ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(_error);
    }

    private void WakeReader(bool result)
    {
        var waiter = Volatile.Read(ref _waiter);
        if (waiter is not null && Interlocked.CompareExchange(ref _waiter, null, waiter) == waiter)
        {
            waiter.TrySetResult(result || Volatile.Read(ref _count) > 0);
        }
    }

    private void CompleteIfDrained()
    {
        if (_writerCompleted && Volatile.Read(ref _count) == 0 && !_completion.Task.IsCompleted)
        {
            if (_error is null)
            {
                _completion.TrySetResult();
            }
            else
            {
                _completion.TrySetException(_error);
            }
        }
    }

    private sealed class Segment
    {
        public readonly ProcessObservation[] Items = new ProcessObservation[SegmentSize];
        public Segment? Next;
    }
}
