using global::System.Threading.Channels;
using Shipper.Module.Logging;
using Shipper.Module.Registry;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Module.System.Process.Tracking;

/// <summary>
/// The single writer of the process table. One loop: takes the start-up snapshot (after the source is started,
/// so nothing falls between the two), then applies observations as they come, flushes holds and grace times
/// when they are due, resynchronises from /proc after loss and sends a state report every <c>state.period</c>.
/// Reports go to a bounded channel; when it is full the loop waits (back-pressure reaches the source's channel,
/// whose reader never blocks: it counts loss instead). On stop it applies everything the source still hands over
/// (the source completes its queue once it saw the stop), reports what is held and completes the channel, all
/// before the shutdown deadline; what the deadline cuts off is counted in <c>process.stop_dropped_events</c>.
/// </summary>
public sealed class ProcessTracker : IDisposable
{
    /// <summary>Loss storms must not turn into back-to-back /proc scans: at most one resync per interval.</summary>
    public static readonly TimeSpan MinResyncInterval = TimeSpan.FromSeconds(1);

    private const int MaxBatch = 256;

    private readonly IProcessEventSource _source;
    private readonly IProcessSnapshotSource _snapshot;
    private readonly ProcessSettings _settings;
    private readonly TimeProvider _time;
    private readonly ProcessMetrics _metrics;
    private readonly Logger _log;
    private readonly ChannelWriter<ProcessReport> _output;
    private readonly ProcessTable _table;
    private readonly ITimer _timer;
    private TaskCompletionSource _wake = NewWake();
    private long _timerDue = long.MaxValue;
    private long _nextStateReport;
    private long _lastResync = long.MinValue;
    private long? _resyncDue;
    private long _handled;
    private bool _idle;
    private ProcessObservation? _carried; // read during a resync's backlog but newer than its scan: applied next

    public ProcessTracker(
        IProcessEventSource source,
        IProcessSnapshotSource snapshot,
        ProcessSettings settings,
        TimeProvider time,
        ProcessMetrics metrics,
        Logger log,
        ChannelWriter<ProcessReport> output)
    {
        _source = source;
        _snapshot = snapshot;
        _settings = settings;
        _time = time;
        _metrics = metrics;
        _log = log;
        _output = output;
        _table = new ProcessTable(settings, time, metrics);
        _timer = time.CreateTimer(static state => ((ProcessTracker)state!).Wake(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// The clock that gives a fork reaped before its <c>stat</c> could be read its start time from the event
    /// (<see cref="ProcessTable.ForkStartClock"/>); the dataset sets <see cref="BootClock.Shared"/>.
    /// </summary>
    public BootClock? ForkStartClock
    {
        get => _table.ForkStartClock;
        init => _table.ForkStartClock = value;
    }

    /// <summary>
    /// Lets work gather before the loop runs: after new observations arrive the loop waits this long before
    /// applying them, and timers fire this much after their deadline so that many holds end in one pass. Each
    /// wake-up of the loop costs a thread-pool hop and a futex; at thousands of events a second, waking per
    /// event cost more CPU than the work itself. Documents come this much later (next to a 1 s hold). Zero
    /// (tests) means no batching.
    /// </summary>
    public TimeSpan Coalescing { get; init; }

    /// <summary>Observations applied so far (tests wait on it).</summary>
    public long Handled => Interlocked.Read(ref _handled);

    /// <summary>
    /// True while the loop waits for an observation or its timer, with everything due done and the timer armed;
    /// it turns false only when the loop resumes, so it can still read true just after a wake-up. Tests move fake
    /// time only then: Arm computes the delay from the clock before it arms the timer, and a fake clock counts
    /// that delay from the arming, so an Advance in between would postpone the deadline by the whole Advance.
    /// </summary>
    internal bool Idle => Volatile.Read(ref _idle);

    /// <summary>The table; read it only from the loop, or after it stopped.</summary>
    internal ProcessTable Table => _table;

    public IEnumerable<string> Diagnostics()
    {
        yield return $"process table: {_table.Count} entries (max {_settings.MaxTracked}), {_table.HeldCount} held, hold target {_table.HoldTarget().TotalMilliseconds:0} ms";
    }

    /// <summary>
    /// Runs until <paramref name="stop"/> fires or the source completes; then applies what the source still has,
    /// reports what is held and completes the output, giving up (and counting what is left) when
    /// <paramref name="deadline"/> fires.
    /// </summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken deadline)
    {
        Exception? failure = null;
        try
        {
            var scanStart = MonotonicNowNs();
            var samples = _snapshot.Scan(stop);
            _table.IgnoreEarlierEventsOf(samples, scanStart);
            _table.LoadSnapshot(samples, EventKind.Event, null);
            _nextStateReport = _time.GetTimestamp() + ToTicks(_settings.StatePeriod);
            await DrainAsync(stop).ConfigureAwait(false);
            await LoopAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            failure = ex;
            throw;
        }
        finally
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            if (failure is null)
            {
                await StopAsync(deadline).ConfigureAwait(false);
            }

            _output.TryComplete(failure);
        }
    }

    /// <summary>
    /// After the loop: everything the source read becomes a report, unless the deadline comes first. The source
    /// may still be handing over its last events (netlink: until its reader thread sees the stop); those it leaves
    /// behind are counted by <see cref="DropUnapplied"/> once it is disposed.
    /// </summary>
    private async Task StopAsync(CancellationToken deadline)
    {
        try
        {
            var reader = _source.Observations;
            while (true)
            {
                ApplyCarried();
                while (reader.TryRead(out var observation))
                {
                    Apply(observation);
                }

                if (!await reader.WaitToReadAsync(deadline).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // The source failed while stopping: what it handed over is still reported.
            _log.Error($"process: the event source failed while stopping: {ex.Message}");
        }

        _table.FlushAll();
        try
        {
            await DrainAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            var reports = 0;
            long events = 0;
            while (_table.TryTakeReport(out var report))
            {
                reports++;
                events += report.Observations;
            }

            _metrics.StopDroppedEvents.Add(events);
            _log.Warn($"process: shutdown timeout reached: {reports} reports ({events} kernel events) were not handed to the document stage");
        }
    }

    /// <summary>
    /// Counts what the source left queued after the tracker stopped reading (the deadline came first). Call once the
    /// source is disposed, so nothing more arrives.
    /// </summary>
    public void DropUnapplied()
    {
        long events = _carried is { IsLoss: false } ? 1 : 0;
        _carried = null;
        var reader = _source.Observations;
        while (reader.TryRead(out var observation))
        {
            if (!observation.IsLoss)
            {
                events++;
            }
        }

        if (events > 0)
        {
            _metrics.StopDroppedEvents.Add(events);
            _log.Warn($"process: shutdown timeout reached: {events} kernel events were read but not applied");
        }
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        var reader = _source.Observations;
        Task<bool>? pendingRead = null;
        while (true)
        {
            if (_wake.Task.IsCompleted)
            {
                _wake = NewWake();
            }

            var batch = ApplyCarried() ? 1 : 0;
            while (batch < MaxBatch && reader.TryRead(out var observation))
            {
                Apply(observation);
                batch++;
            }

            RunDue();
            await DrainAsync(cancellationToken).ConfigureAwait(false);
            if (batch == MaxBatch)
            {
                continue;
            }

            Arm();
            if (pendingRead is null)
            {
                var wait = reader.WaitToReadAsync(cancellationToken);
                if (wait.IsCompleted)
                {
                    if (!wait.Result)
                    {
                        return;
                    }

                    continue;
                }

                pendingRead = wait.AsTask();
            }

            var woken = Task.WhenAny(pendingRead, _wake.Task);
            // Not idle when the timer already fired while being armed (a deadline that was due): the loop goes on.
            Volatile.Write(ref _idle, !woken.IsCompleted);
            await woken.ConfigureAwait(false);
            Volatile.Write(ref _idle, false);
            if (pendingRead.IsCompleted)
            {
                var more = await pendingRead.ConfigureAwait(false);
                pendingRead = null;
                if (!more)
                {
                    return;
                }

                if (Coalescing > TimeSpan.Zero)
                {
                    await Task.Delay(Coalescing, _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private void Apply(in ProcessObservation observation)
    {
        if (observation.IsLoss)
        {
            var now = _time.GetTimestamp();
            var earliest = _lastResync == long.MinValue ? now : _lastResync + ToTicks(MinResyncInterval);
            _resyncDue = _resyncDue is { } due ? Math.Min(due, Math.Max(now, earliest)) : Math.Max(now, earliest);
        }
        else
        {
            _table.Observe(observation);
        }

        Interlocked.Increment(ref _handled);
    }

    private void RunDue()
    {
        _table.Advance();
        var now = _time.GetTimestamp();
        if (_resyncDue is { } due && now >= due)
        {
            _resyncDue = null;
            _lastResync = now;
            var scanStart = MonotonicNowNs();
            if (TryScan("resynchronise after lost events") is { } samples)
            {
                ApplyBacklog(scanStart);
                _table.Resync(samples);
                _log.Info($"process: table resynchronised from /proc after lost events: {samples.Count} processes, {_table.Count} tracked");
            }
        }

        if (now >= _nextStateReport)
        {
            _nextStateReport = now + ToTicks(_settings.StatePeriod);
            if (TryScan("send the state report") is { } samples)
            {
                _table.LoadSnapshot(samples, EventKind.State, Guid.NewGuid().ToString());
                _metrics.StateReports.Increment();
            }
        }
    }

    /// <summary>
    /// Applies the observations queued before a resync scan started, before the table is compared with the scan:
    /// the table then holds every event the source did hand over (a process that started and ended in the backlog
    /// is reported as it ran), and the comparison reports only what the lost events would have said. The first
    /// observation newer than the scan is kept for after the comparison.
    /// </summary>
    private void ApplyBacklog(ulong scanStartNs)
    {
        ApplyCarried();
        var reader = _source.Observations;
        while (reader.TryRead(out var observation))
        {
            if (!observation.IsLoss && observation.Event.TimestampNs >= scanStartNs)
            {
                _carried = observation;
                return;
            }

            Apply(observation);
        }
    }

    private bool ApplyCarried()
    {
        if (_carried is not { } carried)
        {
            return false;
        }

        _carried = null;
        Apply(carried);
        return true;
    }

    /// <summary>A failed periodic scan is logged and skipped (the next loss or period tries again); it never stops the loop.</summary>
    private IReadOnlyList<ProcessSample>? TryScan(string purpose)
    {
        try
        {
            return _snapshot.Scan(CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Error($"process: cannot scan /proc to {purpose}: {ex.Message}");
            return null;
        }
    }

    private async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        // Peek, write, then remove: a write cancelled at shutdown leaves the report queued, to be counted.
        while (_table.TryPeekReport(out var report))
        {
            if (!_output.TryWrite(report))
            {
                await _output.WriteAsync(report, cancellationToken).ConfigureAwait(false);
            }

            _table.RemoveReport();
        }
    }

    /// <summary>Sets the timer for the earliest of: next due hold/grace, pending resync, next state report.</summary>
    private void Arm()
    {
        var due = _nextStateReport;
        if (_table.NextDue() is { } tableDue && tableDue < due)
        {
            due = tableDue;
        }

        if (_resyncDue is { } resync && resync < due)
        {
            due = resync;
        }

        // An armed timer that fires no later than needed stays: re-arming per held process would cost a timer
        // operation per event. It fires, the loop does what is due, and arms for what comes next.
        due += ToTicks(Coalescing);
        var armed = Interlocked.Read(ref _timerDue);
        if (armed <= due && !_wake.Task.IsCompleted)
        {
            return;
        }

        Interlocked.Exchange(ref _timerDue, due);
        var delayTicks = Math.Max(0, due - _time.GetTimestamp());
        var delay = TimeSpan.FromSeconds((double)delayTicks / _time.TimestampFrequency);
        if (delay < TimeSpan.FromMilliseconds(1) && delayTicks > 0)
        {
            delay = TimeSpan.FromMilliseconds(1);
        }

        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private void Wake()
    {
        Interlocked.Exchange(ref _timerDue, long.MaxValue);
        Volatile.Read(ref _wake).TrySetResult();
    }

    private ulong MonotonicNowNs() => MonotonicClock.NowNanoseconds(_time);

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private static TaskCompletionSource NewWake() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose() => _timer.Dispose();
}
