using global::System.Runtime.InteropServices;
using global::System.Threading.Channels;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process.Netlink;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Module.System.Process.Ebpf;

/// <summary>
/// Process events from our BPF program (process.bpf.c): fork, exec and exit are taken in the kernel at the instant
/// they happen, with the arguments, executable (path and inode identity), working directory, ids, capabilities,
/// namespace and nanosecond start time, so even a process that lives a millisecond is complete and nothing of it
/// is raced against /proc. Threads are filtered in the kernel and an exit is sent once the whole thread group is
/// gone, with the status its parent's wait sees. One reader thread polls the ring buffer and hands observations to
/// the tracker through the same lock-free queue as the netlink source. Records the kernel could not fit in the
/// ring are counted there per CPU and reported as <c>process.lost</c> with a resync, as the netlink source does.
/// Only the container (<c>cgroup</c>) is read from /proc, at the exec, and a path the kernel's bounded walk gave
/// up on (deeper than 64 names or longer than 4 KiB), labelled in <c>process.ebpf.paths_from_proc</c>.
/// </summary>
public sealed unsafe class EbpfProcEventSource : IProcessEventSource
{
    private readonly EbpfSourceOptions _options;
    private readonly Logger _logger;
    private readonly WorkerProgress? _progress;
    private readonly ObservationQueue _queue;
    private readonly ProcReader _reader;
    private readonly long _clockTicksPerSecond;
    private readonly ManualResetEventSlim _started = new();
    private readonly ReaderPause _pause = new();
    private GCHandle _self;
    private EbpfProgram? _program;
    private LoopTurns? _turns;
    private Thread? _thread;
    private CancellationTokenRegistration _cancellation;
    private volatile bool _stopping;
    private bool _disposed;
    private long _reportedRingLost;
    private long _lastLostCheck;
    private Exception? _recordError;

    public EbpfProcEventSource(EbpfSourceOptions options, MetricsRegistry metrics, Logger logger, WorkerProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger;
        _progress = progress;
        Metrics = new EbpfSourceMetrics(metrics);
        _queue = new ObservationQueue(options.ChannelCapacity);
        _reader = new ProcReader(options.ProcRoot, options.MaxArgsBytes);
        _clockTicksPerSecond = BootClock.Shared.ClockTicksPerSecond;
        metrics.GaugeFunc("process.ebpf.queue", () => _queue.Count);
    }

    public string Backend => "ebpf";

    /// <summary>Called on the reader thread with each exec's sample (the hasher opens the executed file then). Must be quick and must not throw.</summary>
    public Action<ProcessSample>? ExecRead { get; init; }

    public ChannelReader<ProcessObservation> Observations => _queue;

    public EbpfSourceMetrics Metrics { get; }

    /// <summary>The programs attached (empty before <see cref="Start"/>).</summary>
    public IReadOnlyList<string> Programs => _program?.Programs ?? Array.Empty<string>();

    /// <summary>
    /// Loads and attaches the program and starts the reader; returns once events are being captured. Throws
    /// <see cref="EbpfException"/> saying why when eBPF cannot be used here (nothing is left loaded then).
    /// </summary>
    public void Start(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_program is not null)
        {
            throw new InvalidOperationException("the eBPF source is already started");
        }

        ValidateRingBuffer(_options.RingBufferBytes);
        _self = GCHandle.Alloc(this);
        try
        {
            _program = EbpfProgram.Load(
                _options.ObjectOverride ?? EbpfProgram.EmbeddedObject(),
                _options.MaxArgsBytes,
                _options.RingBufferBytes,
                &OnRecord,
                GCHandle.ToIntPtr(_self));
        }
        catch
        {
            _self.Free();
            throw;
        }

        _turns = _progress?.Register("ebpf reader");
        _thread = new Thread(ReadLoop) { IsBackground = true, Name = "ebpf-reader" };
        _thread.Start();
        _started.Wait(cancellationToken);
        _cancellation = cancellationToken.Register(static s => ((EbpfProcEventSource)s!)._stopping = true, this);
        _logger.Info($"process: eBPF programs attached ({string.Join(", ", _program.Programs)}): ring buffer {_options.RingBufferBytes} bytes, " +
                     $"arguments up to {_options.MaxArgsBytes} bytes per exec, loss detection: ring buffer reservations counted in the kernel");
    }

    /// <summary>The kernel wants a power of two of whole pages; a setting that is not one is refused here, before any load.</summary>
    public static void ValidateRingBuffer(long bytes)
    {
        if (bytes < Environment.SystemPageSize || (bytes & (bytes - 1)) != 0 || bytes > 1L << 30)
        {
            throw new EbpfException($"process.ebpf.ring_buffer_size must be a power of two between the page size ({Environment.SystemPageSize}) and 1 GiB, not {bytes}");
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping = true;
        _pause.Release();
        if (_thread is not null && _thread != Thread.CurrentThread && !_thread.Join(_options.PollInterval * 20))
        {
            // Still inside libbpf's poll or our callback: freeing the ring under it would crash the process, so the
            // program stays loaded (and is unloaded with the process) rather than freed here.
            _logger.Warn("process: the eBPF reader did not stop within a second; its program stays loaded until the process exits");
            _cancellation.Dispose();
            _queue.Complete();
            return;
        }

        _cancellation.Dispose();
        _program?.Dispose();
        if (_self.IsAllocated)
        {
            _self.Free();
        }

        _queue.Complete();
        _reader.Dispose();
    }

    /// <summary>Test hook: stop reading the ring buffer (so it fills and the kernel counts loss) until <see cref="ResumeReading"/>.</summary>
    internal void PauseReading() => _pause.Pause(_options.PollInterval * 20, "eBPF reader");

    internal void ResumeReading() => _pause.Resume();

    private void ReadLoop()
    {
        var timeout = (int)Math.Max(1, _options.PollInterval.TotalMilliseconds);
        try
        {
            _started.Set();
            while (!_stopping)
            {
                _turns?.Turn();
                if (_pause.HoldIfRequested())
                {
                    continue;
                }

                var n = _program!.Poll(timeout);
                if (n == 0)
                {
                    // Forks and exits are written without a wake-up: a poll that timed out has not taken them.
                    n = _program.Consume();
                }

                ThrowIfRecordFailed();
                if (n < 0 && n != -4) // -EINTR: a signal, poll again
                {
                    Metrics.PollErrors.Increment();
                    Thread.Sleep(timeout);
                }

                CheckLost(force: n == 0);
            }

            // Take what was written before the stop, then stop.
            _program!.Consume();
            ThrowIfRecordFailed();
            CheckLost(force: true);
            StopReportingProgress();
            _queue.Complete();
        }
        catch (Exception ex)
        {
            _logger.Error($"process: eBPF reader stopped: {ex}");
            StopReportingProgress();
            _queue.Complete(ex);
            _started.Set();
        }
    }

    private void ThrowIfRecordFailed()
    {
        if (_recordError is { } error)
        {
            throw new InvalidOperationException("handling an eBPF record failed", error);
        }
    }

    private void StopReportingProgress()
    {
        if (_turns is not null)
        {
            _progress!.Unregister(_turns);
        }
    }

    [UnmanagedCallersOnly]
    private static int OnRecord(nint context, byte* data, nuint size)
    {
        var source = (EbpfProcEventSource)GCHandle.FromIntPtr(context).Target!;
        try
        {
            source.Handle(new ReadOnlySpan<byte>(data, (int)Math.Min(size, int.MaxValue)));
            return 0;
        }
        catch (Exception ex)
        {
            // An exception must not unwind into libbpf: stop the poll and fail the reader with it.
            source._recordError = ex;
            return -1;
        }
    }

    private void Handle(ReadOnlySpan<byte> record)
    {
        Metrics.Records.Increment();
        if (!EbpfRecord.TryDecode(record, _clockTicksPerSecond, out var e, out var sample))
        {
            // Something happened that we cannot tell: count it and have the tracker resynchronise from /proc.
            Metrics.Malformed.Increment();
            Metrics.Lost.Increment();
            _queue.OweLoss(1);
            return;
        }

        if (e.Type == ProcEventType.Exec)
        {
            var flags = EbpfRecord.Flags(record);
            var executable = (flags & EbpfRecord.ExecutableIncomplete) != 0;
            var workingDirectory = (flags & (EbpfRecord.WorkingDirectoryIncomplete | EbpfRecord.NoWorkingDirectory)) != 0;
            if (executable || workingDirectory)
            {
                Metrics.PathsFromProc.Increment();
            }

            if ((flags & EbpfRecord.ArgsTruncated) != 0)
            {
                Metrics.ArgsTruncated.Increment();
            }

            _reader.Complete(sample!, executable, workingDirectory, out var failures);
            Metrics.Enrichment.Count(failures);
            ExecRead?.Invoke(sample!);
        }

        Enqueue(new ProcessObservation(e, sample, 0));
    }

    private void Enqueue(in ProcessObservation observation)
    {
        if (!_queue.TryWriteOrOweLoss(observation))
        {
            Metrics.Lost.Increment();
            Metrics.QueueFull.Increment();
        }
    }

    /// <summary>Reports growth of the kernel's count of records that found the ring buffer full (at most every 10 ms while busy).</summary>
    private void CheckLost(bool force)
    {
        var now = Environment.TickCount64;
        if (!force && now - _lastLostCheck < 10)
        {
            _queue.TryFlushLoss();
            return;
        }

        _lastLostCheck = now;
        var lost = _program!.ReadLost();
        var delta = lost - _reportedRingLost;
        if (lost >= 0 && delta > 0)
        {
            _reportedRingLost = lost;
            Metrics.RingLost.Add(delta);
            Metrics.Lost.Add(delta);
            _queue.OweLoss(delta);
        }

        _queue.TryFlushLoss();
    }
}
