using global::System.Threading.Channels;
using Shipper.Module.Logging;
using Shipper.Module.Registry;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Ebpf;
using Shipper.Module.System.Process.Enrichment;
using Shipper.Module.System.Process.Hashing;
using Shipper.Module.System.Process.Netlink;
using Shipper.Module.System.Process.Procfs;
using Shipper.Module.System.Process.Tracking;
using Shipper.Module.System.Process.Users;

namespace Shipper.Module.System.Process;

/// <summary>
/// <c>system/process</c>: every fork, exec and exit, folded per process into Auditbeat-compatible documents.
/// Pipeline: event source (netlink reader thread, or /proc poller) → <see cref="ProcessTracker"/> (the process
/// table) → <see cref="EnrichmentStage"/> (documents, hashes) → the reporter.
/// </summary>
public sealed class ProcessDataset : IDataset
{
    /// <summary>Reports between the tracker and the document stage.</summary>
    public const int ReportChannelCapacity = 4096;

    private readonly DatasetContext _context;
    private readonly Logger _log;
    private readonly ProcessMetrics _metrics;
    private volatile ProcessTracker? _tracker;
    private volatile EnrichmentStage? _stage;

    public ProcessDataset(DatasetContext context)
    {
        _context = context;
        _log = context.Log;
        Settings = ProcessSettings.Parse(context.Config);
        context.Warnings.AddRange(Settings.Warnings);
        _metrics = new ProcessMetrics(context.Metrics);
    }

    public string Name => "system/process";

    public ProcessSettings Settings { get; }

    /// <summary>
    /// The hash seam (issue 4): the registry sets it from <c>process.hash.*</c>
    /// (<see cref="ExecutableHashSource.Create"/>); null publishes documents without hashes.
    /// </summary>
    public IExecutableHashSource? Hashes { get; init; }

    /// <summary>Where user and group names come from (tests point them at fixture files).</summary>
    public string PasswdPath { get; init; } = "/etc/passwd";

    public string GroupPath { get; init; } = "/etc/group";

    /// <summary>
    /// How long the tracker lets events and deadlines gather before a pass (see <see cref="ProcessTracker.Coalescing"/>).
    /// At 20 ms the stages behind the reader (tracker, mapping, publisher) still cost 0.049 CPU s per 1,000
    /// processes in the storm benchmark, mostly thread wake-ups; at 100 ms, 0.025. Next to the 1 s hold a
    /// document is at most 0.1 s later.
    /// </summary>
    public static readonly TimeSpan Coalescing = TimeSpan.FromMilliseconds(100);

    /// <summary>Test hook: the BPF object to load instead of the embedded one.</summary>
    internal byte[]? EbpfObjectOverride { get; init; }

    /// <summary>Test hook: called with the event source once it is started.</summary>
    internal Action<IProcessEventSource>? SourceStarted { get; init; }

    /// <summary>The process table as the last run left it (tests inspect it after stopping).</summary>
    internal ProcessTable? LastTable { get; private set; }

    public async Task RunAsync(IEventReporter reporter, CancellationToken cancellationToken)
    {
        var source = StartSource(cancellationToken);
        _metrics.Backend.Set(source.Backend);
        SourceStarted?.Invoke(source);
        using var snapshot = new ProcfsSnapshotSource(maxArgsBytes: Settings.MaxArgsBytes);
        await RunStagesAsync(source, snapshot, reporter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs tracker and document stage behind a started <paramref name="source"/> (which this disposes) until
    /// <paramref name="stop"/>. The stop has one budget, <see cref="DatasetContext.ShutdownTimeout"/>: the source
    /// completes its queue, the tracker applies the rest and reports what is held, the stage publishes. What the
    /// budget cuts off is counted in <c>process.stop_dropped_events</c> and logged by the stage that dropped it.
    /// </summary>
    internal async Task RunStagesAsync(IProcessEventSource source, IProcessSnapshotSource snapshot, IEventReporter reporter, CancellationToken stop)
    {
        var reports = Channel.CreateBounded<ProcessReport>(new BoundedChannelOptions(ReportChannelCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var tracker = new ProcessTracker(source, snapshot, Settings, _context.Time, _metrics, _log, reports.Writer)
        {
            Coalescing = Coalescing,
            ForkStartClock = BootClock.Shared,
        };
        var mapper = new ProcessDocumentMapper(
            _context.HostId,
            StartTimeClock.FromProcStat(BootClock.Shared.ClockTicksPerSecond),
            new UserDirectory(_context.Time, PasswdPath, GroupPath),
            _context.Secrets,
            _context.ShipperPids,
            _context.ContainerMetadata);
        var stage = new EnrichmentStage(reports.Reader, mapper, Hashes, reporter, _context.Time, _metrics, _context.Metrics);
        _tracker = tracker;
        _stage = stage;

        using var deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _context.Time);
        using var armDeadline = stop.Register(static s =>
        {
            var (cts, timeout) = ((CancellationTokenSource, TimeSpan))s!;
            cts.CancelAfter(timeout);
        }, (deadline, _context.ShutdownTimeout));
        var publishing = stage.RunAsync(deadline.Token);
        try
        {
            await tracker.RunAsync(stop, deadline.Token).ConfigureAwait(false);
        }
        finally
        {
            // Nothing more arrives once the source is disposed: what it left queued can be counted.
            source.Dispose();
            tracker.DropUnapplied();
            try
            {
                await publishing.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
            }

            var (documents, events) = stage.DropUnpublished();
            if (documents > 0)
            {
                _log.Warn($"process: shutdown timeout reached: {documents} documents ({events} kernel events) were not published");
            }

            LastTable = tracker.Table;
            _tracker = null;
            _stage = null;
        }
    }

    public IEnumerable<string> Diagnostics()
    {
        if (_tracker is { } tracker)
        {
            foreach (var line in tracker.Diagnostics())
            {
                yield return line;
            }
        }

        if (_stage is { } stage)
        {
            yield return $"process documents in flight (mapped, waiting for hashes or the publisher): {stage.InFlight}";
        }
    }

    /// <summary>
    /// Starts the configured source. <c>auto</c> tries ebpf, then netlink, then procfs; <c>kernel_tracing</c> ebpf, then
    /// netlink. The choice is logged with the reason each earlier backend could not be used.
    /// </summary>
    private IProcessEventSource StartSource(CancellationToken cancellationToken)
    {
        switch (Settings.Backend)
        {
            case ProcessBackend.Ebpf:
                return StartEbpf(cancellationToken);
            case ProcessBackend.Netlink:
                return StartNetlink(cancellationToken);
            case ProcessBackend.Procfs:
                _log.Info("process: backend procfs (configured)");
                return StartProcfs(cancellationToken);
        }

        var name = Settings.Backend == ProcessBackend.Auto ? "auto" : "kernel_tracing";
        string ebpfReason;
        try
        {
            var ebpf = StartEbpf(cancellationToken);
            _log.Info($"process: backend {name} chose ebpf: the BPF program loaded and attached (every exec complete from the kernel)");
            return ebpf;
        }
        catch (EbpfException ex)
        {
            ebpfReason = ex.Message;
        }

        if (Settings.Backend == ProcessBackend.KernelTracing)
        {
            var chosen = StartNetlink(cancellationToken);
            _log.Warn($"process: backend kernel_tracing chose netlink because ebpf is not usable: {ebpfReason}");
            return chosen;
        }

        try
        {
            var netlink = StartNetlink(cancellationToken);
            _log.Warn($"process: backend auto chose netlink (real time, /proc read after each event) because ebpf is not usable: {ebpfReason}");
            return netlink;
        }
        catch (NetlinkException ex)
        {
            _log.Warn($"process: backend auto chose procfs polling every {Settings.ProcfsPeriod.TotalMilliseconds:0} ms because ebpf is not usable ({ebpfReason}) and netlink is not usable ({ex.Message})");
            return StartProcfs(cancellationToken);
        }
    }

    private EbpfProcEventSource StartEbpf(CancellationToken cancellationToken) =>
        Started(
            new EbpfProcEventSource(
                new EbpfSourceOptions
                {
                    MaxArgsBytes = Settings.EbpfMaxArgsBytes,
                    RingBufferBytes = Settings.EbpfRingBufferBytes,
                    ObjectOverride = EbpfObjectOverride,
                },
                _context.Metrics,
                _log,
                _context.Progress)
            {
                ExecRead = HashAtExec(),
            },
            cancellationToken);

    private NetlinkProcEventSource StartNetlink(CancellationToken cancellationToken)
    {
        var source = new NetlinkProcEventSource(
            new NetlinkSourceOptions
            {
                ReceiveBuffer = (int)Settings.NetlinkReceiveBuffer,
                Realtime = Settings.NetlinkRealtime,
                KernelFilter = Settings.NetlinkKernelFilter,
                FullSampleOnFork = Settings.NetlinkFullForkSample,
                MaxArgsBytes = Settings.MaxArgsBytes,
            },
            _context.Metrics,
            _log,
            _context.Progress)
        {
            ExecRead = HashAtExec(),
        };
        return Started(source, cancellationToken);
    }

    private ProcfsPollingSource StartProcfs(CancellationToken cancellationToken) =>
        Started(
            new ProcfsPollingSource(new ProcfsSourceOptions { Period = Settings.ProcfsPeriod, MaxArgsBytes = Settings.MaxArgsBytes }, _context.Time, _context.Metrics, _log)
            {
                ExecRead = HashAtExec(),
            },
            cancellationToken);

    /// <summary>What a source calls at each exec so that hashing starts then, through the file that ran (null without hashes).</summary>
    private Action<ProcessSample>? HashAtExec()
    {
        if (Hashes is not { } hashes)
        {
            return null;
        }

        return sample =>
        {
            if (ExecutableHashRequest.ForSample(sample) is { } request)
            {
                hashes.HashAtExec(request);
            }
        };
    }

    /// <summary>Starts the source; one that fails to start is disposed, so the caller can try another.</summary>
    private static T Started<T>(T source, CancellationToken cancellationToken)
        where T : IProcessEventSource
    {
        try
        {
            source.Start(cancellationToken);
            return source;
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }
}
