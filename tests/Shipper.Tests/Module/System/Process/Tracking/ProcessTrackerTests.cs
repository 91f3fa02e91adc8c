using global::System.Threading.Channels;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Tracking;
using static Shipper.Tests.Module.System.Process.ProcessFixtures;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Tracking;

/// <summary>The tracker loop driven through a channel-fed source, with fake time: no sleeps.</summary>
public sealed class ProcessTrackerTests : IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly MonotonicFakeTimeProvider _time = new(new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly ChannelSource _source = new("netlink");
    private readonly ListSnapshot _snapshot = new();
    private readonly Channel<ProcessReport> _output = Channel.CreateBounded<ProcessReport>(64);
    private readonly MetricsRegistry _registry;
    private readonly ProcessTracker _tracker;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _deadline = new();
    private Task? _run;

    public ProcessTrackerTests()
    {
        var metrics = Metrics(out _registry);
        _snapshot.Processes.Add(Sample(1, 0, 1, "systemd"));
        _snapshot.Processes.Add(Sample(100, 1, 50, "bash", new[] { "-bash" }, "/usr/bin/bash"));
        var settings = new ProcessSettings { HoldTime = TimeSpan.FromSeconds(1), StatePeriod = TimeSpan.FromHours(1) };
        _tracker = new ProcessTracker(_source, _snapshot, settings, _time, metrics, Logger.Null, _output.Writer);
    }

    [Fact]
    public async Task ReportsTheSnapshotThenFoldsALifecycleWhenTheHoldEnds()
    {
        Start();
        var existing = new[] { await Next(), await Next() };
        Assert.All(existing, r => Assert.Equal(ProcessEvents.Snapshot, r.Events));
        Assert.All(existing, r => Assert.Equal(EventKind.Event, r.Kind));

        _source.Write(Fork(200, 100, Sample(200, 100, 500, "bash")));
        _source.Write(Exec(200, Sample(200, 100, 500, "true", new[] { "/bin/true", "a" }, "/usr/bin/true")));
        _source.Write(Exit(200, 0));
        await Handled(3);
        Assert.False(_output.Reader.TryRead(out _));

        await Advance(TimeSpan.FromSeconds(1));
        var ran = await Next();
        Assert.Equal(ProcessEvents.Fork | ProcessEvents.Exec | ProcessEvents.Exit, ran.Events);
        Assert.Equal(new[] { "/bin/true", "a" }, ran.Facts.Args);
    }

    [Fact]
    public async Task EventsQueuedBeforeTheSnapshotDoNotDuplicateIt()
    {
        // bash's fork happened before the snapshot was scanned: the snapshot already reports bash.
        var beforeScan = _time.NowNanoseconds - 1;
        _source.Write(Fork(100, 1, Sample(100, 1, 50, "bash"), timestampNs: beforeScan));
        Start();
        await Next();
        await Next();
        await Handled(1);
        await Advance(TimeSpan.FromSeconds(1));
        _source.Write(Exit(100, 0));
        await Handled(2);
        await Advance(TimeSpan.FromSeconds(1));

        var stopped = await Next();
        Assert.Equal(ProcessEvents.Exit, stopped.Events);
        Assert.Equal(1, Value(_registry, "process.stale_events"));
    }

    [Fact]
    public async Task LossTriggersOneResyncFromProc()
    {
        Start();
        await Next();
        await Next();

        // bash (100) exited and cron (300) started while events were lost.
        lock (_snapshot.Processes)
        {
            _snapshot.Processes.RemoveAt(1);
            _snapshot.Processes.Add(Sample(300, 1, 800, "cron"));
        }
        _source.Write(ProcessObservation.Loss(5));
        _source.Write(ProcessObservation.Loss(2));
        await Handled(2);

        var reports = new[] { await Next(), await Next() };
        Assert.Contains(reports, r => r.Facts.Pid == 300 && r.Events == ProcessEvents.Fork);
        Assert.Contains(reports, r => r.Facts.Pid == 100 && r.Events == ProcessEvents.Exit && !r.Exit.Known);
        Assert.Equal(1, Value(_registry, "process.resyncs"));
        Assert.Equal(2, _snapshot.Scans);

        // Another loss right away waits for the minimum interval before scanning again.
        _source.Write(ProcessObservation.Loss(1));
        await Handled(3);
        Assert.Equal(2, _snapshot.Scans);
        await Advance(ProcessTracker.MinResyncInterval);
        await Eventually.True(() => Value(_registry, "process.resyncs") == 2, Wait);
        Assert.Equal(3, _snapshot.Scans);
    }

    [Fact]
    public async Task StatePeriodSendsAStateReportWithOneSharedId()
    {
        Start();
        await Next();
        await Next();

        await Advance(TimeSpan.FromHours(1));
        var first = await Next();
        var second = await Next();
        Assert.Equal(EventKind.State, first.Kind);
        Assert.Equal(EventKind.State, second.Kind);
        Assert.NotNull(first.StateId);
        Assert.Equal(first.StateId, second.StateId);

        await Advance(TimeSpan.FromHours(1));
        var third = await Next();
        Assert.NotEqual(first.StateId, third.StateId);
        Assert.Equal(2, Value(_registry, "process.state_reports"));
    }

    [Fact]
    public async Task GraceExpiryRemovesExitedEntriesWithoutNewEvents()
    {
        Start();
        await Next();
        await Next();
        _source.Write(Exit(100, 0));
        await Handled(1);
        await Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ProcessEvents.Exit, (await Next()).Events);
        Assert.Equal(2, Value(_registry, "process.tracked"));

        await Advance(ProcessSettings.DefaultCacheGraceTime);
        await Eventually.True(() => Value(_registry, "process.tracked") == 1, Wait);
    }

    [Fact]
    public async Task EndOfTheSourceReportsWhatIsHeldAndCompletesTheOutput()
    {
        Start();
        await Next();
        await Next();
        _source.Write(Fork(200, 100, Sample(200, 100, 500, "bash")));
        _source.Complete();

        var started = await Next();
        Assert.Equal(ProcessEvents.Fork, started.Events);
        await _run!.WaitAsync(Wait);
        Assert.True(_output.Reader.Completion.IsCompleted);
    }

    [Fact]
    public async Task CancellationReportsWhatIsHeld()
    {
        Start();
        await Next();
        await Next();
        _source.Write(Exec(100, Sample(100, 1, 50, "vim")));
        await Handled(1);
        _stop.Cancel();
        await _run!.WaitAsync(Wait);

        Assert.True(_output.Reader.TryRead(out var report));
        Assert.Equal(ProcessEvents.Exec, report.Events);
    }

    [Fact]
    public async Task StoppingAppliesWhatTheSourceStillHoldsEvenWhileGathering()
    {
        // The loop lets events gather (fake time: the pause never ends by itself) before it applies them; a stop in
        // that pause used to drop them uncounted.
        using var tracker = NewTracker(_output, coalescing: TimeSpan.FromMilliseconds(100));
        _source.Start(_stop.Token);
        _run = Task.Run(() => tracker.RunAsync(_stop.Token, _deadline.Token));
        await Next();
        await Next();
        await Eventually.True(() => tracker.Idle, Wait);

        _source.Write(Fork(300, 100, Sample(300, 100, 900, "bash")));
        _source.Write(Exec(300, Sample(300, 100, 900, "ls", new[] { "ls", "-l" }, "/usr/bin/ls")));
        _source.Write(Exit(300, 2 << 8));
        _stop.Cancel();
        await _run.WaitAsync(Wait);

        var ran = await Next();
        Assert.Equal(ProcessEvents.Fork | ProcessEvents.Exec | ProcessEvents.Exit, ran.Events);
        Assert.Equal(3, ran.Observations);
        Assert.Equal(2, ran.Exit.Code);
        Assert.False(_output.Reader.TryRead(out _));
        Assert.Equal(0, Value(_registry, "process.stop_dropped_events"));
    }

    [Fact]
    public async Task ADeadlineDuringTheStopCountsTheReportsItCutOff()
    {
        var narrow = Channel.CreateBounded<ProcessReport>(1);
        using var tracker = NewTracker(narrow, coalescing: TimeSpan.Zero);
        _source.Start(_stop.Token);
        _run = Task.Run(() => tracker.RunAsync(_stop.Token, _deadline.Token));
        Assert.Equal(ProcessEvents.Snapshot, (await narrow.Reader.ReadAsync()).Events);
        Assert.Equal(ProcessEvents.Snapshot, (await narrow.Reader.ReadAsync()).Events);
        for (var pid = 400; pid < 410; pid++)
        {
            _source.Write(Fork(pid, 100, Sample(pid, 100, 1000, "bash")));
        }

        await Eventually.True(() => tracker.Handled == 10, Wait);

        // Held forks are reported at the stop; the document stage takes one and then no more.
        _stop.Cancel();
        await Eventually.True(() => narrow.Reader.Count == 1, Wait);
        _deadline.Cancel();
        await _run.WaitAsync(Wait);

        Assert.True(narrow.Reader.TryRead(out var first));
        Assert.Equal(400, first.Facts.Pid);
        Assert.True(narrow.Reader.Completion.IsCompleted);
        Assert.Equal(9, Value(_registry, "process.stop_dropped_events"));
    }

    [Fact]
    public async Task AResyncReportsEveryProcessOfTheBacklogBehindTheLossNotice()
    {
        Start();
        await Next();
        await Next();
        await Advance(TimeSpan.Zero);

        // A loss notice; while the resync's scan walks /proc, 3,000 short processes queue up behind the notice,
        // all of them older than the scan.
        const int count = 3000;
        var before = _time.NowNanoseconds - 1;
        _snapshot.Open.Reset();
        _source.Write(ProcessObservation.Loss(4));
        await Eventually.True(() => _snapshot.Scans == 2, Wait);
        for (var i = 0; i < count; i++)
        {
            var pid = 1000 + i;
            var start = 2000UL + (ulong)i;
            _source.Write(Fork(pid, 100, Sample(pid, 100, start, "bash"), timestampNs: before));
            _source.Write(Exec(pid, Sample(pid, 100, start, "true", new[] { "true", i.ToString() }, "/usr/bin/true"), timestampNs: before));
            _source.Write(Exit(pid, 0, timestampNs: before));
        }

        _snapshot.Open.Set();

        // The resync reports what is held before it compares: every process of the backlog, as it ran.
        var ran = new HashSet<int>();
        for (var i = 0; i < count; i++)
        {
            var report = await Next();
            Assert.Equal(ProcessEvents.Fork | ProcessEvents.Exec | ProcessEvents.Exit, report.Events);
            Assert.Equal(new[] { "true", (report.Facts.Pid - 1000).ToString() }, report.Facts.Args);
            Assert.True(ran.Add(report.Facts.Pid));
        }

        await Handled(1 + 3 * count);
        Assert.Equal(1, Value(_registry, "process.resyncs"));
        Assert.Equal(0, Value(_registry, "process.stale_events"));
        Assert.Equal(0, Value(_registry, "process.exits_not_observed"));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_run is not null)
        {
            await _run.WaitAsync(Wait);
        }

        _tracker.Dispose();
        _stop.Dispose();
        _deadline.Dispose();
    }

    private void Start()
    {
        _source.Start(_stop.Token);
        _run = Task.Run(() => _tracker.RunAsync(_stop.Token, _deadline.Token));
    }

    private ProcessTracker NewTracker(Channel<ProcessReport> output, TimeSpan coalescing)
    {
        var settings = new ProcessSettings { HoldTime = TimeSpan.FromSeconds(1), StatePeriod = TimeSpan.FromHours(1) };
        return new ProcessTracker(_source, _snapshot, settings, _time, new ProcessMetrics(_registry), Logger.Null, output.Writer) { Coalescing = coalescing };
    }

    private async Task<ProcessReport> Next()
    {
        using var timeout = new CancellationTokenSource(Wait);
        return await _output.Reader.ReadAsync(timeout.Token);
    }

    private Task Handled(long count) => Eventually.True(() => _tracker.Handled >= count, Wait);

    /// <summary>
    /// Moves fake time only while the loop is idle: an Advance between Arm reading the clock and arming the timer
    /// would push the deadline out by the whole Advance, and the awaited report would never come. Call it only
    /// after the previous step's effect was seen (Handled, a report): until the loop resumes from a wake-up it
    /// still reads idle.
    /// </summary>
    private async Task Advance(TimeSpan by)
    {
        await Eventually.True(() => _tracker.Idle, Wait);
        _time.Advance(by);
    }

    /// <summary>An event source whose observations the test writes; it stops as the real ones do.</summary>
    private sealed class ChannelSource : IProcessEventSource
    {
        private readonly Channel<ProcessObservation> _channel = Channel.CreateUnbounded<ProcessObservation>();

        public ChannelSource(string backend) => Backend = backend;

        public string Backend { get; }

        public ChannelReader<ProcessObservation> Observations => _channel.Reader;

        /// <summary>As the real sources: once stopped, the queue completes after what was already written.</summary>
        public void Start(CancellationToken cancellationToken) =>
            cancellationToken.Register(() => _channel.Writer.TryComplete());

        public void Write(ProcessObservation observation) => Assert.True(_channel.Writer.TryWrite(observation));

        public void Complete() => _channel.Writer.Complete();

        public void Dispose() => _channel.Writer.TryComplete();
    }

    private sealed class ListSnapshot : IProcessSnapshotSource
    {
        private int _scans;

        public List<ProcessSample> Processes { get; } = new();

        public int Scans => Volatile.Read(ref _scans);

        /// <summary>A scan waits until this is set, as a slow /proc walk would.</summary>
        public ManualResetEventSlim Open { get; } = new(true);

        public IReadOnlyList<ProcessSample> Scan(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _scans);
            Open.Wait(cancellationToken);
            lock (Processes)
            {
                return Processes.ToArray();
            }
        }
    }
}
