using CsCheck;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Netlink;
using Shipper.Module.System.Process.Tracking;
using global::System.Threading.Channels;
using static Shipper.Tests.Module.System.Process.ProcessFixtures;

namespace Shipper.Tests.Module.System.Process;

/// <summary>
/// The loss ledger, property-tested: random kernel streams (forks, execs, exits, uid changes, kernel threads, pid
/// reuse, lost events, a queue that overflows) go through the real observation queue, tracker and document stage
/// (<see cref="ProcessDataset.RunStagesAsync"/>), stopped at a random point with a random shutdown budget, into a
/// publisher that may stall and gives up at the deadline as the real one does. Every observation the source handed
/// over must end in exactly one document (published, or given up on by the publisher, which counts it) or in
/// exactly one of the dataset's named counters: never both, never neither.
/// </summary>
public sealed class LossLedgerTests
{
    private static readonly string[] CountedByName =
    {
        "process.stale_events", "process.kernel_thread_events", "process.repeated_exits", "process.change_events",
        "process.stop_dropped_events",
    };

    [Fact]
    public void EveryObservationEndsInOneDocumentOrOneCounter()
    {
        var scenarios =
            from seed in Gen.Int
            from steps in Gen.Int[1, 400]
            from queueCapacity in Gen.OneOf(Gen.Const(8), Gen.Const(64), Gen.Const(4096))
            from stopAt in Gen.Double[0, 1]
            from shutdownMs in Gen.OneOf(Gen.Const(0), Gen.Const(20), Gen.Const(300))
            from publishBeforeStall in Gen.OneOf(Gen.Const(-1), Gen.Const(0), Gen.Const(5), Gen.Const(50))
            from afterStop in Gen.OneOf(Gen.Const(0), Gen.Const(3), Gen.Const(100))
            select new Scenario(seed, steps, queueCapacity, (int)(stopAt * steps), afterStop, TimeSpan.FromMilliseconds(shutdownMs), publishBeforeStall);
        scenarios.Sample(scenario => Run(scenario).GetAwaiter().GetResult(), iter: 40, threads: 1);
    }

    private static async Task Run(Scenario scenario)
    {
        var registry = new MetricsRegistry();
        var dataset = new ProcessDataset(Context(registry, scenario.ShutdownTimeout));
        var kernel = new KernelModel(scenario.Seed);
        using var source = new ScriptedSource(kernel, scenario);
        var publisher = new StallingPublisher(scenario.PublishBeforeStall);
        using var stop = new CancellationTokenSource();
        source.StopRequested = stop.Cancel;
        source.Start(stop.Token);

        await dataset.RunStagesAsync(source, kernel, publisher, stop.Token).WaitAsync(TimeSpan.FromSeconds(30));

        long counted = 0;
        foreach (var name in CountedByName)
        {
            counted += Value(registry, name);
        }

        var inDocuments = Observations(publisher.Published) + Observations(publisher.GivenUp);
        var context = $"{scenario}: {source.Accepted} observations handed over, {inDocuments} in documents, {counted} counted " +
                      $"({string.Join(", ", CountedByName.Select(n => $"{n}={Value(registry, n)}"))}), {source.Dropped} dropped by the full queue";
        Assert.True(source.Accepted == inDocuments + counted, context);

        // A document carries exactly the events it folded (or none, when a /proc scan made it).
        foreach (var evt in publisher.Published.Concat(publisher.GivenUp))
        {
            var document = (ProcessDocument)evt.Body;
            var folded = evt.Types.Count(t => t is "start" or "change" or "end");
            Assert.True(document.Observations == 0 || document.Observations == folded, $"{context}: {evt.Action} of {document.Pid} folds {document.Observations} events in [{string.Join(",", evt.Types)}]");
        }

        // And no kind of event is reported more often than it was handed over.
        Assert.True(Folded(publisher, "start") <= source.AcceptedOf(ProcEventType.Fork), context);
        Assert.True(Folded(publisher, "change") <= source.AcceptedOf(ProcEventType.Exec), context);
        Assert.True(Folded(publisher, "end") <= source.AcceptedOf(ProcEventType.Exit), context);
    }

    private static long Observations(IEnumerable<Event> events) => events.Sum(e => (long)((ProcessDocument)e.Body).Observations);

    private static int Folded(StallingPublisher publisher, string type) =>
        publisher.Published.Concat(publisher.GivenUp).Count(e => ((ProcessDocument)e.Body).Observations > 0 && e.Types.Contains(type));

    private static DatasetContext Context(MetricsRegistry registry, TimeSpan shutdownTimeout)
    {
        var config = new ConfigMap("system", SourceLocation.None);
        var process = new ConfigMap("system.process", SourceLocation.None);
        process.Set("hold_time", new ConfigScalar("system.process.hold_time", SourceLocation.None, "20ms", false));
        config.Set("process", process);
        return new DatasetContext
        {
            Config = new ConfigSection(config, new ConfigReadTracker()),
            Metrics = registry,
            Log = Logger.Null,
            Time = TimeProvider.System,
            HostId = "ledger-test-host",
            DataPath = Path.GetTempPath(),
            ShutdownTimeout = shutdownTimeout,
        };
    }

    private sealed record Scenario(int Seed, int Steps, int QueueCapacity, int StopAfter, int AfterStop, TimeSpan ShutdownTimeout, int PublishBeforeStall);

    /// <summary>The processes the "kernel" runs; also the /proc the tracker scans (start-up, resyncs).</summary>
    private sealed class KernelModel : IProcessSnapshotSource
    {
        private const uint KThreadFlag = 0x00200000;
        private readonly Dictionary<int, ProcessSample> _live = new();
        private readonly Random _random;
        private ulong _nextStart = 100;

        public KernelModel(int seed)
        {
            _random = new Random(seed);
            _live[1] = Sample(1, 0, 1, "init");
            _live[2] = Sample(2, 0, 2, "kthreadd");
            for (var pid = 1000; pid < 1004; pid++)
            {
                _live[pid] = Sample(pid, 1, _nextStart++, "daemon");
            }
        }

        public IReadOnlyList<ProcessSample> Scan(CancellationToken cancellationToken)
        {
            lock (_live)
            {
                return _live.Values.ToArray();
            }
        }

        public void Dispose()
        {
        }

        /// <summary>One kernel event, chosen at random and applied to the model; null when nothing applies.</summary>
        public ProcessObservation? Next()
        {
            var now = MonotonicClock.NowNanoseconds(TimeProvider.System);
            lock (_live)
            {
                var roll = _random.NextDouble();
                var candidates = _live.Keys.Where(p => p >= 1000).ToList();
                if (roll < 0.35 || candidates.Count == 0)
                {
                    // A new process (or, 1 in 10, a kernel thread) on a pid from a small pool: pids are reused.
                    var pid = 1000 + _random.Next(40);
                    if (_live.ContainsKey(pid))
                    {
                        return null;
                    }

                    var kthread = _random.Next(10) == 0;
                    var parent = kthread ? 2 : 1;
                    var sample = Sample(pid, parent, _nextStart++, kthread ? "kworker" : "sh", flags: kthread ? KThreadFlag : 0);
                    _live[pid] = sample;
                    return Fork(pid, parent, sample, now);
                }

                var target = candidates[_random.Next(candidates.Count)];
                var known = _live[target];
                if (roll < 0.6)
                {
                    var image = Sample(target, known.ParentPid, known.StartTimeTicks, "cmd" + _random.Next(5), new[] { "cmd", _random.Next().ToString() }, flags: known.Flags);
                    _live[target] = image;
                    return Exec(target, image, now);
                }

                if (roll < 0.65)
                {
                    var changed = Sample(target, known.ParentPid, known.StartTimeTicks, known.Name!, known.Args, known.Executable, uid: 1000, flags: known.Flags);
                    _live[target] = changed;
                    return new ProcessObservation(new ProcConnectorEvent(ProcEventType.Uid, 0, now, target, target, 0, 0, 0, 0), changed, 0);
                }

                _live.Remove(target);
                return Exit(target, (uint)_random.Next(3) << 8, timestampNs: now);
            }
        }

        public bool Roll(double probability)
        {
            lock (_live)
            {
                return _random.NextDouble() < probability;
            }
        }
    }

    /// <summary>
    /// Hands the model's events over through the real <see cref="ObservationQueue"/>, as the netlink reader does:
    /// kernel-lost events become an owed loss notice, a full queue drops and owes. It asks for the stop itself at
    /// the scenario's point, hands over some more events (a reader finishing its receive and draining its second
    /// socket, which may outlast a short shutdown budget), then completes.
    /// </summary>
    private sealed class ScriptedSource : IProcessEventSource
    {
        private readonly KernelModel _kernel;
        private readonly Scenario _scenario;
        private readonly ObservationQueue _queue;
        private readonly Dictionary<ProcEventType, long> _acceptedByType = new();
        private Thread? _thread;

        public ScriptedSource(KernelModel kernel, Scenario scenario)
        {
            _kernel = kernel;
            _scenario = scenario;
            _queue = new ObservationQueue(scenario.QueueCapacity);
        }

        public string Backend => "scripted";

        public ChannelReader<ProcessObservation> Observations => _queue;

        public Action? StopRequested { get; set; }

        public long Accepted { get; private set; }

        public long Dropped { get; private set; }

        public long AcceptedOf(ProcEventType type) => _acceptedByType.GetValueOrDefault(type);

        public void Start(CancellationToken cancellationToken)
        {
            _thread = new Thread(() => Write(cancellationToken)) { IsBackground = true };
            _thread.Start();
        }

        public void Dispose()
        {
            _thread?.Join();
            _queue.Complete();
        }

        private void Write(CancellationToken stop)
        {
            var afterStop = -1;
            for (var step = 0; step < _scenario.Steps || !stop.IsCancellationRequested; step++)
            {
                if (step == _scenario.StopAfter)
                {
                    StopRequested!();
                }

                if (stop.IsCancellationRequested && ++afterStop > _scenario.AfterStop)
                {
                    break;
                }

                if (afterStop > 0 && afterStop % 10 == 0)
                {
                    Thread.Sleep(1);
                }

                if (_kernel.Next() is not { } observation)
                {
                    continue;
                }

                if (_kernel.Roll(0.05))
                {
                    _queue.OweLoss(1); // the kernel dropped it: never handed over
                    continue;
                }

                if (_queue.TryWriteOrOweLoss(observation))
                {
                    Accepted++;
                    _acceptedByType[observation.Event.Type] = AcceptedOf(observation.Event.Type) + 1;
                }
                else
                {
                    Dropped++;
                }

                if (_kernel.Roll(0.02))
                {
                    Thread.Sleep(1); // let the tracker and its holds interleave with the stream
                }
            }

            _queue.Complete();
        }
    }

    /// <summary>
    /// A publisher that accepts some documents and then stalls, as one behind an unreachable output does. At the
    /// deadline it gives up on the document it waits with, as <c>Pipeline.PublishAsync</c> does (the pipeline counts
    /// it in <c>pipeline.events.dropped</c>), and throws.
    /// </summary>
    private sealed class StallingPublisher : IEventReporter
    {
        private readonly int _publishBeforeStall;

        public StallingPublisher(int publishBeforeStall) => _publishBeforeStall = publishBeforeStall;

        public List<Event> Published { get; } = new();

        public List<Event> GivenUp { get; } = new();

        public async ValueTask PublishAsync(Event evt, CancellationToken cancellationToken)
        {
            if (_publishBeforeStall < 0 || Published.Count < _publishBeforeStall)
            {
                Published.Add(evt);
                return;
            }

            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                GivenUp.Add(evt);
                throw;
            }
        }
    }
}
