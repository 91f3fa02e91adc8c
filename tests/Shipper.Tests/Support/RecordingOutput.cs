using Shipper.Module.Registry;
using Shipper.Outputs;

namespace Shipper.Tests.Support;

/// <summary>
/// An output for publisher tests: records every batch, can be stalled behind a gate, and can hand events back
/// for retry a given number of times. Cancelled while stalled, it answers as the real outputs do (the
/// <see cref="IOutput"/> contract): nothing confirmed, the whole batch handed back for retry, no exception.
/// </summary>
public sealed class RecordingOutput : IOutput
{
    private readonly object _gate = new();
    private readonly List<int> _batchSizes = new();
    private readonly List<int> _delivered = new();
    private readonly Func<Event, int> _numberOf;
    private TaskCompletionSource _open = CreateOpen();
    private int _retriesLeft;

    /// <param name="numberOf">How to tell the events apart; by default the number of a <see cref="TestEvents"/> event.</param>
    public RecordingOutput(Func<Event, int>? numberOf = null)
    {
        _numberOf = numberOf ?? TestEvents.SequenceOf;
    }

    /// <summary>A copy: the output workers add to the list while a test looks.</summary>
    public IReadOnlyList<int> BatchSizes
    {
        get
        {
            lock (_gate)
            {
                return _batchSizes.ToArray();
            }
        }
    }

    /// <summary>A copy: the output workers add to the list while a test looks.</summary>
    public IReadOnlyList<int> Delivered
    {
        get
        {
            lock (_gate)
            {
                return _delivered.ToArray();
            }
        }
    }

    public string Name => "recording";

    public void Stall()
    {
        lock (_gate)
        {
            _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void Release()
    {
        lock (_gate)
        {
            _open.TrySetResult();
        }
    }

    public void RetryNextBatches(int count) => _retriesLeft = count;

    public async Task<PublishResult> PublishAsync(IReadOnlyList<Event> batch, CancellationToken cancellationToken)
    {
        Task open;
        lock (_gate)
        {
            open = _open.Task;
        }

        try
        {
            await open.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new PublishResult(0, 0, batch.ToArray(), "cancelled");
        }

        lock (_gate)
        {
            _batchSizes.Add(batch.Count);
            if (_retriesLeft > 0)
            {
                _retriesLeft--;
                return new PublishResult(0, 0, batch.ToArray(), "simulated failure");
            }

            foreach (var evt in batch)
            {
                _delivered.Add(_numberOf(evt));
            }
        }

        return PublishResult.AllAcked(batch.Count);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static TaskCompletionSource CreateOpen()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}
