using global::System.Threading.Channels;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process.Netlink;

namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// The fallback when the proc connector is not available (not root, a container): every
/// <see cref="ProcfsSourceOptions.Period"/> it lists /proc, compares (pid, start time) with the previous
/// listing and synthesises a Fork for each new process (with its /proc sample) and an Exit for each one that
/// vanished. Observations carry <see cref="ProcessObservation.Synthetic"/> = true.
/// What it cannot see: processes that start and end between two polls, an exec inside an existing process,
/// exit codes, and exact event times (a fork is stamped with the process's start time, an exit with the poll's
/// time). Processes already present at <see cref="Start"/> are not reported here: the tracker's snapshot
/// reports them.
/// </summary>
public sealed class ProcfsPollingSource : IProcessEventSource
{
    private readonly ProcfsSourceOptions _options;
    private readonly TimeProvider _time;
    private readonly Logger _logger;
    private readonly BootClock _clock;
    private readonly ObservationQueue _queue;
    private readonly ProcReader _reader;
    private readonly Counter _lost;
    private readonly Counter _polls;
    private readonly EnrichmentMetrics _enrichment;
    private readonly List<int> _pids = new(1024);
    private readonly object _pollGate = new();
    private Dictionary<int, Known> _previous = new(1024);
    private Dictionary<int, Known> _current = new(1024);
    private readonly ManualResetEventSlim _tick = new();
    private CancellationTokenSource? _stop;
    private Thread? _loop;
    private bool _listFailureLogged;
    private bool _disposed;

    public ProcfsPollingSource(ProcfsSourceOptions options, TimeProvider time, MetricsRegistry metrics, Logger logger, BootClock? clock = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Period <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Period, "process.procfs.period must be positive");
        }

        _options = options;
        _time = time;
        _logger = logger;
        _clock = clock ?? BootClock.Shared;
        _queue = new ObservationQueue(options.ChannelCapacity);
        _reader = new ProcReader(options.ProcRoot, options.MaxArgsBytes);
        _lost = metrics.Counter("process.lost");
        _polls = metrics.Counter("process.procfs.polls");
        _enrichment = new EnrichmentMetrics(metrics);
    }

    public string Backend => "procfs";

    /// <summary>
    /// Called on the poll thread with the sample of each process first seen (its exec happened since the last
    /// poll): the hasher opens the executed file then. Must be quick and must not throw.
    /// </summary>
    public Action<ProcessSample>? ExecRead { get; init; }

    public ChannelReader<ProcessObservation> Observations => _queue;

    /// <summary>Takes the baseline listing, then polls every period on the given time provider.</summary>
    public void Start(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_loop is not null)
        {
            throw new InvalidOperationException("the procfs source is already started");
        }

        lock (_pollGate)
        {
            List(_previous);
        }

        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _loop = new Thread(() => PollLoop(_stop.Token)) { IsBackground = true, Name = "procfs-poller" };
        _loop.Start();
        _logger.Info($"process: polling {_options.ProcRoot} every {_options.Period.TotalMilliseconds:0} ms " +
                     "(procfs backend: no exit codes, short-lived processes between polls are not seen)");
    }

    /// <summary>One poll, now. The timer loop calls this; tests call it directly.</summary>
    public void PollOnce()
    {
        lock (_pollGate)
        {
            _polls.Increment();
            if (!List(_current))
            {
                return; // keep the previous listing: an unreadable /proc must not look like every process exiting
            }

            var nowMonotonic = (ulong)Math.Max(0, (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100 - _clock.MonotonicOffsetNanoseconds);

            // Exits first: when a pid was reused between polls, the old process ends before the new one starts.
            foreach (var (pid, old) in _previous)
            {
                if (!_current.TryGetValue(pid, out var now) || now.StartTimeTicks != old.StartTimeTicks)
                {
                    var exit = new ProcConnectorEvent(ProcEventType.Exit, 0, nowMonotonic, pid, pid, old.ParentPid, old.ParentPid, 0, 0);
                    Enqueue(new ProcessObservation(exit, null, 0) { Synthetic = true });
                }
            }

            foreach (var (pid, now) in _current)
            {
                if (_previous.TryGetValue(pid, out var old) && old.StartTimeTicks == now.StartTimeTicks)
                {
                    continue;
                }

                var sample = _reader.Read(pid, out var failures);
                _enrichment.Count(failures);
                ExecRead?.Invoke(sample);
                var fork = new ProcConnectorEvent(ProcEventType.Fork, 0, ForkTimestamp(now.StartTimeTicks, nowMonotonic), pid, pid, now.ParentPid, now.ParentPid, 0, 0);
                Enqueue(new ProcessObservation(fork, sample, 0) { Synthetic = true });
            }

            (_previous, _current) = (_current, _previous);
            _queue.TryFlushLoss();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stop?.Cancel();
        _loop?.Join(TimeSpan.FromSeconds(5));
        _stop?.Dispose();
        _tick.Dispose();
        lock (_pollGate)
        {
            _reader.Dispose();
        }

        _queue.Complete();
    }

    /// <summary>
    /// Polls on its own thread, not the thread pool: a starved pool (blocking work elsewhere in the process)
    /// must not stretch the period, or processes would live and die unseen between late polls.
    /// </summary>
    private void PollLoop(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                WaitOnePeriod(cancellationToken);
                if (!cancellationToken.IsCancellationRequested)
                {
                    PollOnce();
                }
            }

            // Stopped: the tracker drains what is queued and learns here that nothing more comes.
            _queue.Complete();
        }
        catch (Exception ex)
        {
            _logger.Error($"process: procfs polling stopped: {ex}");
            _queue.Complete(ex);
        }
    }

    private void WaitOnePeriod(CancellationToken cancellationToken)
    {
        if (ReferenceEquals(_time, TimeProvider.System))
        {
            // The system provider's timers call back on the thread pool; an OS-timed wait does not need it.
            cancellationToken.WaitHandle.WaitOne(_options.Period);
            return;
        }

        // An injected clock (tests: FakeTimeProvider) decides when the period has passed.
        _tick.Reset();
        using var timer = _time.CreateTimer(static s => ((ManualResetEventSlim)s!).Set(), _tick, _options.Period, Timeout.InfiniteTimeSpan);
        WaitHandle.WaitAny([_tick.WaitHandle, cancellationToken.WaitHandle]);
    }

    /// <summary>
    /// A synthetic fork is stamped with the process's start time, taken at the END of its clock tick (starttime
    /// counts whole ticks, 10 ms): the true start lies within that tick, and a stamp that could fall before the
    /// true start could also fall before the tracker's snapshot began, which would make it ignore a process it
    /// did not see. Never later than the poll itself.
    /// </summary>
    private ulong ForkTimestamp(ulong startTimeTicks, ulong nowMonotonic)
    {
        var endOfTick = _clock.StartTimeUnixNanoseconds(startTimeTicks + 1) - 1 - _clock.MonotonicOffsetNanoseconds;
        return Math.Min((ulong)Math.Max(0, endOfTick), nowMonotonic);
    }

    /// <summary>Lists processes with their start time; skips kernel threads (pid 2, its children, PF_KTHREAD).</summary>
    private bool List(Dictionary<int, Known> into)
    {
        into.Clear();
        if (!ProcScanner.ListProcesses(_options.ProcRoot, _pids, out var error))
        {
            if (!_listFailureLogged)
            {
                _listFailureLogged = true;
                _logger.Error($"process: {error}");
            }

            return false;
        }

        foreach (var pid in _pids)
        {
            if (pid == 2 || !_reader.TryReadStat(pid, out var stat))
            {
                continue; // kthreadd, or gone between the listing and the read
            }

            if (stat.IsKernelThread || stat.ParentPid == 2)
            {
                continue;
            }

            into[pid] = new Known(stat.StartTimeTicks, stat.ParentPid);
        }

        return true;
    }

    private void Enqueue(in ProcessObservation observation)
    {
        if (!_queue.TryWriteOrOweLoss(observation))
        {
            _lost.Increment();
        }
    }

    private readonly record struct Known(ulong StartTimeTicks, int ParentPid);
}
