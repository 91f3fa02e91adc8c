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
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private long _pendingLoss;
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
        _reader = new ProcReader(options.ProcRoot);
        _lost = metrics.Counter("process.lost");
        _polls = metrics.Counter("process.procfs.polls");
        _enrichment = new EnrichmentMetrics(metrics);
    }

    public string Backend => "procfs";

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
        _loop = Task.Run(() => PollLoopAsync(_stop.Token));
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
                var started = _clock.StartTimeUnixNanoseconds(now.StartTimeTicks) - _clock.MonotonicOffsetNanoseconds;
                var fork = new ProcConnectorEvent(ProcEventType.Fork, 0, (ulong)Math.Max(0, started), pid, pid, now.ParentPid, now.ParentPid, 0, 0);
                Enqueue(new ProcessObservation(fork, sample, 0) { Synthetic = true });
            }

            (_previous, _current) = (_current, _previous);
            TryFlushLoss();
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
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop?.Dispose();
        lock (_pollGate)
        {
            _reader.Dispose();
        }

        _queue.Complete();
    }

    private async Task PollLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(_options.Period, _time, cancellationToken).ConfigureAwait(false);
                PollOnce();
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            _logger.Error($"process: procfs polling stopped: {ex}");
            _queue.Complete(ex);
        }
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
        if (!TryFlushLoss() || !_queue.TryWrite(observation))
        {
            _pendingLoss++;
            _lost.Increment();
        }
    }

    private bool TryFlushLoss()
    {
        if (_pendingLoss == 0)
        {
            return true;
        }

        if (_queue.TryWrite(ProcessObservation.Loss(_pendingLoss)))
        {
            _pendingLoss = 0;
            return true;
        }

        return false;
    }

    private readonly record struct Known(ulong StartTimeTicks, int ParentPid);
}
