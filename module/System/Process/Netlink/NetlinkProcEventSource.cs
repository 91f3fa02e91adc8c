using global::System.Runtime.CompilerServices;
using global::System.Runtime.InteropServices;
using global::System.Threading.Channels;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// Real-time process events from the kernel's proc connector. One dedicated reader thread (real-time priority
/// when permitted) blocks in recvfrom on a preallocated buffer, decodes, drops foreign messages and thread events
/// (a thread's creation and exit only tell when a process ends, see <see cref="ThreadGroupExits"/>),
/// reads <c>/proc/&lt;pid&gt;</c> on fork and exec right away (short-lived processes vanish within
/// milliseconds), and hands an observation to the tracker through a lock-free bounded queue. It never waits on
/// anything slower than memory: a full queue drops and counts; lost kernel messages (socket overflow, sequence
/// gaps) are counted in <c>process.lost</c> and announced with <see cref="ProcessObservation.Loss"/> so the
/// tracker resynchronises from /proc. The hot path does not log and allocates only the sample it hands over.
/// Where the kernel filters (6.6+), forks and exits come on a second socket that the reader drains when it wakes
/// for anything else, and at least every receive timeout, rather than waking for each
/// (<see cref="NetlinkSourceOptions.DeferExits"/>, <see cref="NetlinkSourceOptions.DeferForks"/>). They are merged
/// back in kernel timestamp order, so each process's fork, exec and exit stay in order, and a process's exit comes
/// before the fork of the next one given its pid. A child that execs is read once, at the exec, for both events;
/// one that does not is read when its fork is drained.
/// </summary>
public sealed unsafe class NetlinkProcEventSource : IProcessEventSource
{
    /// <summary>How long a recv may block: bounds shutdown latency and how often idle drop checks run.</summary>
    private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How often the deferred socket is drained at the latest while execs keep the reader awake (each exec drains
    /// it anyway when forks are deferred); when nothing does, it is drained at each receive timeout (50 ms).
    /// </summary>
    public const int DrainIntervalMs = 20;

    /// <summary>
    /// How often every held group exit (<see cref="ThreadGroupExits"/>) is looked at again, besides after each
    /// thread exit of its group: for a group whose last thread's exit does not end it at once (a traced thread
    /// stays until its tracer reaps it).
    /// </summary>
    private const int GroupSweepIntervalMs = 1000;

    /// <summary>SO_MEMINFO costs a syscall; checking every N datagrams bounds how late a silent drop is noticed.</summary>
    private const int DropCheckInterval = 256;

    private readonly NetlinkSourceOptions _options;
    private readonly Logger _logger;
    private readonly ObservationQueue _queue;
    private readonly SequenceTracker _sequences = new();
    private readonly SequencePositions _positions = new();
    private readonly WorkerProgress? _progress;
    private LoopTurns? _turns;
    private readonly ProcReader _reader;

    // Proc connector datagrams are ~76 bytes (one message each); 64 KiB leaves room for any future batching.
    private readonly byte[] _receiveBuffer = GC.AllocateUninitializedArray<byte>(64 * 1024, pinned: true);

    // The deferred socket is drained while a main-socket datagram is still being decoded: its own buffer, in
    // slots for recvmmsg (a proc connector datagram is under 100 bytes).
    private const int DeferredSlot = 1024;
    private const int DeferredSlots = 64;
    private readonly byte[] _deferredBuffer = GC.AllocateUninitializedArray<byte>(DeferredSlot * DeferredSlots, pinned: true);
    private readonly int[] _deferredLengths = new int[DeferredSlots];
    private readonly uint[] _deferredSenders = new uint[DeferredSlots];
    private readonly byte[] _controlBuffer = new byte[64];
    private readonly ManualResetEventSlim _started = new();
    private readonly ReaderPause _pause = new();

    private NetlinkSocket? _socket;
    private NetlinkSocket? _deferredSocket;
    private long _deferredDropsBaseline;
    private long _lastDrain;
    private bool _draining; // the message being handled came from the deferred socket
    private readonly Queue<ProcConnectorEvent> _pending = new();
    private readonly Dictionary<int, PendingOrder> _pendingOrder = new();
    private long _pendingHead = 1; // drain number of the event at the head of _pending
    private long _pendingTail = 1; // drain number the next pending event gets
    private readonly ThreadGroupExits _groupExits;
    private readonly List<ProcConnectorEvent> _endedGroups = new();
    private readonly List<int> _pids = new();
    private long _lastGroupSweep;
    private bool _threadsLost; // kernel events were lost: find the processes with threads again when idle
    private Thread? _thread;
    private CancellationTokenRegistration _cancellation;
    private volatile bool _stopping;
    private bool _disposed;

    // Loss accounting: reader thread only (and the starting thread before the reader exists).
    private bool _dropsAvailable;
    private long _dropsBaseline;
    private long _socketDrops;
    private long _sequenceGaps;
    private long _carriedGaps;
    private long _reportedKernelLoss;
    private int _sinceDropCheck;
    private int _consecutiveErrors;

    // Subscription handshake.
    private uint _awaitedAck;
    private bool _ackSeen;
    private uint _ackError;
    private uint _controlSequence;

    /// <param name="progress">
    /// In a watched worker: where the reader proves it turns and reports its proc connector positions for the
    /// heartbeat, and where the positions the previous worker reached come from (see <see cref="SequencePositions"/>).
    /// </param>
    public NetlinkProcEventSource(NetlinkSourceOptions options, MetricsRegistry metrics, Logger logger, WorkerProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ReceiveBuffer <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ReceiveBuffer, "process.netlink.receive_buffer must be positive");
        }

        if (options.RealtimePriority is < 1 or > 99)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.RealtimePriority, "the real-time priority must be 1-99");
        }

        _options = options;
        _logger = logger;
        _progress = progress;
        Metrics = new NetlinkSourceMetrics(metrics);
        _queue = new ObservationQueue(options.ChannelCapacity);
        _reader = new ProcReader(options.ProcRoot, options.MaxArgsBytes);
        _groupExits = new ThreadGroupExits(_reader.CountThreads, _reader.IsZombie, Metrics);
        metrics.GaugeFunc("process.netlink.queue", () => _queue.Count);
    }

    public string Backend => "netlink";

    /// <summary>
    /// Called on the reader thread with each exec's sample, the moment it was read (the hasher opens the executed
    /// file then). Must be quick and must not throw.
    /// </summary>
    public Action<ProcessSample>? ExecRead { get; init; }

    public ChannelReader<ProcessObservation> Observations => _queue;

    public NetlinkSourceMetrics Metrics { get; }

    public ProcConnectorSubscription Subscription { get; private set; }

    /// <summary>The receive buffer the kernel granted (bytes, as getsockopt reports it).</summary>
    public int ReceiveBufferBytes { get; private set; }

    public bool ReceiveBufferForced { get; private set; }

    /// <summary>Whether the reader thread runs at SCHED_FIFO.</summary>
    public bool IsRealtime { get; private set; }

    /// <summary>The reader thread's kernel task id (0 before <see cref="Start"/>).</summary>
    internal int ReaderThreadId { get; private set; }

    /// <summary>Our socket's netlink port id (0 before <see cref="Start"/>).</summary>
    internal uint PortId => _socket?.PortId ?? 0;

    /// <summary>Whether exits come on the deferred socket instead of waking the reader.</summary>
    public bool DefersExits => _deferredSocket is not null;

    /// <summary>Whether forks come on the deferred socket too (then a child that execs is read once, at the exec).</summary>
    public bool DefersForks { get; private set; }

    /// <summary>Whether per-CPU sequence gaps are counted as loss (only without the kernel-side filter).</summary>
    public bool TracksSequences => Subscription == ProcConnectorSubscription.Classic;

    /// <summary>
    /// Opens the socket, sets the receive buffer, subscribes (filtered where the kernel accepts it, else
    /// classic) and starts the reader; returns once events are being captured. Throws
    /// <see cref="NetlinkException"/> with the reason when the proc connector is not usable.
    /// </summary>
    public void Start(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_socket is not null)
        {
            throw new InvalidOperationException("the netlink source is already started");
        }

        if (_progress is { InheritedPositions.Length: > 0 } && !_positions.TryInherit(_progress.InheritedPositions, out var positionsError))
        {
            _logger.Warn($"process: ignoring the previous worker's proc connector positions from the watcher ({positionsError}): events lost while workers were replaced are not counted");
        }

        _socket = NetlinkSocket.Open();
        bool forced;
        try
        {
            ReceiveBufferBytes = _socket.SetReceiveBuffer(_options.ReceiveBuffer, out forced);
            ReceiveBufferForced = forced;
            _socket.SetReceiveTimeout(ReceiveTimeout);
            var drops = _socket.ReadDrops();
            _dropsAvailable = drops.HasValue;
            _dropsBaseline = drops ?? 0;
            Subscribe();
            FindThreadedProcesses();
        }
        catch
        {
            // A failed start leaves nothing open, so a caller falling back to procfs need not dispose first.
            _socket.Dispose();
            _socket = null;
            _deferredSocket?.Dispose();
            _deferredSocket = null;
            Subscription = ProcConnectorSubscription.None;
            throw;
        }

        _turns = _progress?.Register("netlink reader");
        _progress?.ReportPositionsWith(_positions.Encode);
        _thread = new Thread(ReadLoop) { IsBackground = true, Name = "netlink-reader" };
        _thread.Start();
        _started.Wait(cancellationToken);
        _cancellation = cancellationToken.Register(static s => ((NetlinkProcEventSource)s!)._stopping = true, this);

        _logger.Info($"process: netlink proc connector open: {Subscription.ToString().ToLowerInvariant()} subscription, " +
                     $"receive buffer {ReceiveBufferBytes} bytes{(forced ? "" : " (SO_RCVBUF, capped by net.core.rmem_max)")}, " +
                     $"reader {(IsRealtime ? $"SCHED_FIFO {_options.RealtimePriority}" : "normal priority")}, " +
                     $"{(DefersExits ? $"{(DefersForks ? "forks and exits" : "exits")} on a second socket read when the reader wakes, " : "")}" +
                     $"loss detection: socket drops{(TracksSequences ? " + sequence gaps" : "")}");
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
        if (_thread is not null && _thread != Thread.CurrentThread)
        {
            _thread.Join(ReceiveTimeout * 10);
        }

        if (_socket is not null)
        {
            var length = NetlinkCodec.WriteControl(_controlBuffer, NetlinkCodec.PROC_CN_MCAST_IGNORE, null, ++_controlSequence, 0, _socket.PortId);
            _socket.Send(_controlBuffer.AsSpan(0, length));
            _socket.Dispose();
        }

        if (_deferredSocket is not null)
        {
            var length = NetlinkCodec.WriteControl(_controlBuffer, NetlinkCodec.PROC_CN_MCAST_IGNORE, null, ++_controlSequence, 0, _deferredSocket.PortId);
            _deferredSocket.Send(_controlBuffer.AsSpan(0, length));
            _deferredSocket.Dispose();
        }

        _cancellation.Dispose();
        _queue.Complete();
        if (_thread is null || !_thread.IsAlive)
        {
            _reader.Dispose();
        }
    }

    /// <summary>Test hook: stop calling recv (so the kernel's queue overflows) until <see cref="ResumeReading"/>.</summary>
    internal void PauseReading() => _pause.Pause(ReceiveTimeout * 20, "netlink reader");

    internal void ResumeReading() => _pause.Resume();

    private void Subscribe()
    {
        if (_options.KernelFilter)
        {
            // Probe with a filter equal to "all events": a 6.6+ kernel acknowledges it (acks are filtered out
            // under any narrower filter, so we could not see them); an older kernel ignores the 8-byte form
            // without answering. Once acknowledged, narrow the filter (that request's ack is filtered out).
            if (Request(NetlinkCodec.AllEvents, TimeSpan.FromMilliseconds(500)))
            {
                // The deferred socket listens before this one stops taking its events, so none falls in between.
                // One that happens meanwhile comes on both: harmless, as it predates the start-up snapshot (whose
                // scan the tracker takes as already showing it), and the tracker ignores a repeated exit anyway.
                if (_options.DeferExits)
                {
                    OpenDeferredSocket();
                }

                var wanted = NetlinkCodec.WantedEvents & ~(DefersExits ? DeferredEvents : 0);
                SendControl(NetlinkCodec.PROC_CN_MCAST_LISTEN, wanted, 0);
                Subscription = ProcConnectorSubscription.Filtered;
                return;
            }
        }

        if (Request(null, TimeSpan.FromSeconds(2)))
        {
            Subscription = ProcConnectorSubscription.Classic;
            return;
        }

        throw new NetlinkException("the kernel did not acknowledge the proc connector subscription " +
                                   "(we must run in the initial user and pid namespace, and the kernel needs CONFIG_PROC_EVENTS)");
    }

    /// <summary>Events of the deferred socket: exits, and forks unless every fork must be read in full at once.</summary>
    private uint DeferredEvents => (uint)ProcEventType.Exit | (DefersForks ? (uint)ProcEventType.Fork : 0);

    /// <summary>
    /// A second socket for the events that need no /proc read right away. The filter is in place when send
    /// returns (the kernel handles the request in our call), and the main socket's probe already showed that this
    /// kernel filters, so no acknowledgement is needed (a filter without PROC_EVENT_NONE would hide it anyway). If
    /// it cannot be set up, every event stays on the main socket.
    /// </summary>
    private void OpenDeferredSocket()
    {
        NetlinkSocket socket;
        try
        {
            socket = NetlinkSocket.Open();
        }
        catch (NetlinkException)
        {
            return;
        }

        socket.SetReceiveBuffer(_options.ReceiveBuffer, out _);
        DefersForks = _options.DeferForks && !_options.FullSampleOnFork;
        var length = NetlinkCodec.WriteControl(_controlBuffer, NetlinkCodec.PROC_CN_MCAST_LISTEN, DeferredEvents, ++_controlSequence, 0, socket.PortId);
        if (socket.Send(_controlBuffer.AsSpan(0, length)) != 0)
        {
            socket.Dispose();
            DefersForks = false;
            return;
        }

        _deferredDropsBaseline = socket.ReadDrops() ?? 0;
        _lastDrain = Environment.TickCount64;
        _deferredSocket = socket;
    }

    /// <summary>Sends LISTEN and receives (handling any events that arrive meanwhile) until our acknowledgement.</summary>
    private bool Request(uint? filter, TimeSpan timeout)
    {
        _ackSeen = false;
        _awaitedAck = (uint)Random.Shared.Next(1, int.MaxValue);
        SendControl(NetlinkCodec.PROC_CN_MCAST_LISTEN, filter, _awaitedAck);
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!_ackSeen && Environment.TickCount64 < deadline)
        {
            ReceiveOnce(wait: true);
        }

        _awaitedAck = 0;
        if (_ackSeen && _ackError != 0)
        {
            throw new NetlinkException($"the proc connector refused the subscription: {Marshal.GetPInvokeErrorMessage((int)_ackError)}", (int)_ackError);
        }

        return _ackSeen;
    }

    private void SendControl(uint operation, uint? filter, uint ack)
    {
        var length = NetlinkCodec.WriteControl(_controlBuffer, operation, filter, ++_controlSequence, ack, _socket!.PortId);
        var errno = _socket.Send(_controlBuffer.AsSpan(0, length));
        if (errno != 0)
        {
            throw NetlinkException.FromErrno("sending the proc connector subscription", errno);
        }
    }

    private void ReadLoop()
    {
        try
        {
            ReaderThreadId = NetlinkSyscalls.GetTid();
            ApplyRealtimePriority();
            _started.Set();
            while (!_stopping)
            {
                _turns?.Turn();
                if (_pause.HoldIfRequested())
                {
                    continue;
                }

                ReceiveOnce(wait: true);
                if (_deferredSocket is not null && (_pending.Count > 0 || Environment.TickCount64 - _lastDrain >= DrainIntervalMs))
                {
                    CatchUp();
                }

                if (_groupExits.Count > 0)
                {
                    RecheckGroups();
                }
            }

            if (_deferredSocket is not null)
            {
                CatchUp();
            }

            StopReportingProgress();
            _queue.Complete();
        }
        catch (Exception ex)
        {
            // Unexpected (a bug, not bad input): surface it through the queue so the dataset fails loudly.
            _logger.Error($"process: netlink reader stopped: {ex}");
            StopReportingProgress();
            _queue.Complete(ex);
            _started.Set();
        }
        finally
        {
            if (_disposed)
            {
                _reader.Dispose();
            }
        }
    }

    /// <summary>The reader ends on purpose: its silence is no longer a hang (its last positions still go to the heartbeat).</summary>
    private void StopReportingProgress()
    {
        if (_turns is not null)
        {
            _progress!.Unregister(_turns);
        }
    }

    private void ApplyRealtimePriority()
    {
        if (!_options.Realtime)
        {
            return;
        }

        // Scheduling policy is per thread on Linux: applied to this thread's tid, not the process.
        var priority = _options.RealtimePriority;
        if (NetlinkSyscalls.SchedSetScheduler(ReaderThreadId, NetlinkSyscalls.SCHED_FIFO, &priority) == 0)
        {
            IsRealtime = true;
            return;
        }

        var errno = Marshal.GetLastPInvokeError();
        _logger.Warn($"process: cannot give the netlink reader real-time priority (SCHED_FIFO {priority}): " +
                     $"{Marshal.GetPInvokeErrorMessage(errno)}; continuing at normal priority (short-lived processes " +
                     "may then be reported without command line or executable)");
    }

    /// <summary>
    /// Receives and handles one datagram from the main socket; false when there was none (an error, a timeout,
    /// or with <paramref name="wait"/> false an empty queue).
    /// </summary>
    private bool ReceiveOnce(bool wait)
    {
        _queue.TryFlushLoss();
        var n = _socket!.Receive(_receiveBuffer, out var sender, out var errno, wait);
        if (n < 0)
        {
            if (wait || errno != NetlinkSyscalls.EAGAIN)
            {
                HandleReceiveError(errno);
            }

            return false;
        }

        HandleDatagram(_receiveBuffer.AsSpan(), n, sender);
        return true;
    }

    private void HandleDatagram(ReadOnlySpan<byte> buffer, int n, uint sender)
    {
        _consecutiveErrors = 0;
        if (sender != 0)
        {
            // Only the kernel (port 0) may speak on this group; anything else is forged or misrouted.
            Metrics.Foreign.Increment();
            return;
        }

        if (n > buffer.Length)
        {
            Metrics.Malformed.Increment();
            return;
        }

        var datagram = buffer[..n];
        while (true)
        {
            var status = NetlinkCodec.DecodeNext(ref datagram, out var message);
            if (status == NetlinkDecodeStatus.End)
            {
                break;
            }

            switch (status)
            {
                case NetlinkDecodeStatus.Message:
                    HandleMessage(message);
                    break;
                case NetlinkDecodeStatus.Malformed:
                    Metrics.Malformed.Increment();
                    break;
                case NetlinkDecodeStatus.Error:
                    Metrics.ReceiveErrors.Increment();
                    break;
                case NetlinkDecodeStatus.Overrun:
                    CheckDrops(overflowReported: true);
                    break;
            }
        }

        if (++_sinceDropCheck >= DropCheckInterval)
        {
            CheckDrops(overflowReported: false);
        }

        _queue.TryFlushLoss();
    }

    /// <summary>
    /// Takes every event the deferred socket holds, then what the main socket holds: a process's fork and exec
    /// reach their sockets before its exit does, so once both are read each pending event can be put in its
    /// place (<see cref="FlushPending"/> merges by kernel timestamp) and the rest handed on.
    /// </summary>
    private void CatchUp()
    {
        DrainDeferred();
        if (_pending.Count > 0)
        {
            while (ReceiveOnce(wait: false))
            {
            }

            FlushPending(ulong.MaxValue, null);
        }

        _groupExits.ForgetDrainedThreadExits();
    }

    /// <summary>
    /// Lists the processes that have more than one thread now (a statx each, a few milliseconds for a thousand
    /// processes); from then on thread creations keep the list. A main-thread exit of a process not on it ends
    /// the process without looking at /proc (see <see cref="ThreadGroupExits"/>). If /proc cannot be listed,
    /// every main-thread exit looks.
    /// </summary>
    private void FindThreadedProcesses()
    {
        var scanNs = BootClock.MonotonicNowNanoseconds();
        if (ProcScanner.ListProcesses(_reader.ProcRoot, _pids, out _))
        {
            _groupExits.Seed(_pids, scanNs);
        }

        _pids.Clear();
    }

    /// <summary>Hands on the exits of held thread groups that are gone now (see <see cref="ThreadGroupExits"/>).</summary>
    private void RecheckGroups()
    {
        var now = Environment.TickCount64;
        var all = now - _lastGroupSweep >= GroupSweepIntervalMs;
        if (!all && !_groupExits.HasChanged)
        {
            return;
        }

        if (all)
        {
            _lastGroupSweep = now;
        }

        _groupExits.Recheck(all, _endedGroups);
        foreach (var exit in _endedGroups)
        {
            Enqueue(new ProcessObservation(exit, null, 0));
        }

        _endedGroups.Clear();
    }

    private void DrainDeferred()
    {
        _lastDrain = Environment.TickCount64;
        _draining = true;
        try
        {
            // One call per up to 64 datagrams; a short batch means the queue is empty.
            int count;
            do
            {
                count = _deferredSocket!.ReceiveMany(_deferredBuffer, DeferredSlot, _deferredLengths, _deferredSenders, out var errno);
                if (count < 0)
                {
                    HandleReceiveError(errno);
                    break;
                }

                for (var i = 0; i < count; i++)
                {
                    HandleDatagram(_deferredBuffer.AsSpan(i * DeferredSlot, DeferredSlot), _deferredLengths[i], _deferredSenders[i]);
                }
            }
            while (count == DeferredSlots);
        }
        finally
        {
            _draining = false;
        }
    }

    /// <summary>
    /// Hands on the pending forks and exits that happened before <paramref name="beforeNs"/> (CLOCK_MONOTONIC). A
    /// fork of the process <paramref name="exec"/> was just read for takes its stat from that read; any other
    /// fork is read now (the child has not exec'd yet, or never will). See <see cref="ForkSample"/> for a pid
    /// that changed hands meanwhile.
    /// </summary>
    private void FlushPending(ulong beforeNs, ProcessSample? exec)
    {
        while (_pending.TryPeek(out var e) && e.TimestampNs < beforeNs)
        {
            _pending.Dequeue();
            var number = _pendingHead++;
            var pid = e.ProcessPid;
            var later = TakePendingOrder(pid, number);
            if (e.Type == ProcEventType.Exit)
            {
                if (exec is not null && exec.Pid == pid && later.LastFork <= number)
                {
                    // The exec is this process's own, yet its main thread exited first: a thread exec'd and the
                    // kernel ended the main thread to give it the pid. The process lives on (its stat file too).
                    _groupExits.Forget(pid);
                    Metrics.GroupExitsExec.Increment();
                    continue;
                }

                HandleExit(e);
                continue;
            }

            HandOnHeldExit(pid);
            _groupExits.OnSingleThreaded(e);
            Enqueue(new ProcessObservation(e, ForkSample(e, number, later, exec), 0));
        }
    }

    /// <summary>
    /// The stat of a drained fork's child, or none if it is not to be had. The pid may have gone to another process
    /// since the fork (reaped, then reused: forced with ns_last_pid, clone3's set_tid or CRIU; pid_max comes
    /// round far more slowly), and what /proc or the exec read then shows is that one. What the drained events
    /// say decides first: a later fork of the pid means it changed hands (nothing read now is this child's); a
    /// later exit, that this child ended, so only its unreaped zombie is still its own. The exec read belongs to
    /// this child when no later fork does (an exit in between is the main thread's, ended by a thread's exec). As
    /// a last check the stat's start must fall in the tick of the fork event (where the kernel stamps both). A
    /// stat that fails any of this is treated as unreadable: the tracker takes the start from the fork event.
    /// </summary>
    private ProcessSample ForkSample(in ProcConnectorEvent fork, long number, in PendingOrder later, ProcessSample? exec)
    {
        var pid = fork.ProcessPid;
        if (later.LastFork > number)
        {
            return ReusedPid(pid);
        }

        ProcessSample sample;
        var ended = later.LastExit > number;
        if (exec is not null && exec.Pid == pid && exec.HasStat)
        {
            sample = exec.StatView();
        }
        else
        {
            sample = _reader.ReadStatOnly(pid, out var failures, holdOpen: !ended);
            if (ended && sample.HasStat && sample.State != 'Z')
            {
                return ReusedPid(pid);
            }

            Metrics.Enrichment.Count(failures);
        }

        if (sample.HasStat && sample.StartTimeTicks != BootClock.Shared.StartTimeTicksAt(fork.TimestampNs))
        {
            _reader.Release(pid);
            return ReusedPid(pid);
        }

        return sample;
    }

    /// <summary>A fork's sample when its child's pid belongs to another process by the time it could be read.</summary>
    private ProcessSample ReusedPid(int pid)
    {
        Metrics.ReusedPidStats.Increment();
        Metrics.Enrichment.Count(ProcReadFailures.Stat | ProcReadFailures.Exited);
        var sample = new ProcessSample { Pid = pid, StatOnly = true };
        sample.AddError($"cannot read {_reader.ProcRoot}/{pid}/stat: process exited (the pid belongs to another process now)");
        return sample;
    }

    /// <summary>What follows the drained event numbered <paramref name="number"/> for the same pid; forgets the pid after its last.</summary>
    private PendingOrder TakePendingOrder(int pid, long number)
    {
        ref var order = ref CollectionsMarshal.GetValueRefOrNullRef(_pendingOrder, pid);
        if (Unsafe.IsNullRef(ref order))
        {
            return default;
        }

        var copy = order;
        if (copy.LastFork <= number && copy.LastExit <= number)
        {
            _pendingOrder.Remove(pid);
        }

        return copy;
    }

    /// <summary>
    /// A main thread's exit: the process's exit unless other threads still run (then it is held, see
    /// <see cref="ThreadGroupExits"/>).
    /// </summary>
    private void HandleExit(in ProcConnectorEvent e)
    {
        _reader.Release(e.ProcessPid);
        if (!_groupExits.OnMainThreadExit(e, out var exit, out var looked))
        {
            return;
        }

        if (looked && _deferredSocket is not null)
        {
            // /proc says the group is gone, but its last thread leaves /proc a moment before the kernel queues
            // its exit: if that was just now, the exit is queued by now. Only for processes that had threads.
            DrainDeferred();
            exit = _groupExits.WithDrainedThreadExits(exit);
        }

        Enqueue(new ProcessObservation(exit, null, 0));
    }

    /// <summary>The pid of a held group's main thread went to a new task: the group is gone, its exit goes first.</summary>
    private void HandOnHeldExit(int pid)
    {
        if (_groupExits.Count > 0 && _groupExits.TryTake(pid, out var exit))
        {
            Enqueue(new ProcessObservation(exit, null, 0));
        }
    }

    private void HandleReceiveError(int errno)
    {
        switch (errno)
        {
            case NetlinkSyscalls.EAGAIN:
                // Idle for a receive timeout: a cheap moment to look for drops the kernel did not signal, and to
                // list the processes with threads again after a loss.
                _consecutiveErrors = 0;
                CheckDrops(overflowReported: false);
                if (_threadsLost)
                {
                    _threadsLost = false;
                    FindThreadedProcesses();
                }

                return;
            case NetlinkSyscalls.EINTR:
                return;
            case NetlinkSyscalls.ENOBUFS:
                // The kernel could not queue messages for us: they are gone. Count them and have the tracker
                // resynchronise from /proc.
                Metrics.Overflows.Increment();
                CheckDrops(overflowReported: true);
                return;
            default:
                Metrics.ReceiveErrors.Increment();
                if (++_consecutiveErrors == 100)
                {
                    _logger.Error($"process: netlink recvfrom keeps failing: {Marshal.GetPInvokeErrorMessage(errno)}");
                }

                if (_consecutiveErrors >= 100)
                {
                    Thread.Sleep(100); // do not spin on a broken socket
                }

                return;
        }
    }

    private void HandleMessage(in ProcConnectorMessage message)
    {
        Metrics.Messages.Increment();
        var e = message.Event;
        var carriedGap = _positions.Observe(e.Cpu, message.Sequence, _draining);
        if (carriedGap > 0)
        {
            _carriedGaps += carriedGap;
            Metrics.LostBetweenWorkers.Add(carriedGap);
            UpdateKernelLoss();
        }

        if (TracksSequences)
        {
            var gap = _sequences.Observe(e.Cpu, message.Sequence);
            if (gap > 0)
            {
                _sequenceGaps += gap;
                Metrics.SequenceGaps.Add(gap);
                UpdateKernelLoss();
            }
        }

        switch (e.Type)
        {
            case ProcEventType.None:
                if (_awaitedAck != 0 && message.Ack == _awaitedAck + 1)
                {
                    _ackSeen = true;
                    _ackError = message.AckError;
                }

                return;
            case ProcEventType.Fork or ProcEventType.Exec or ProcEventType.Exit
                or ProcEventType.Uid or ProcEventType.Gid or ProcEventType.Comm:
                break;
            default:
                return; // sid, ptrace, coredump: not used by the dataset
        }

        if (ThreadEvents.IsThreadEvent(e))
        {
            Metrics.ThreadEvents.Increment();
            if (e.Type == ProcEventType.Exit)
            {
                _groupExits.OnThreadExit(e, _draining);
            }
            else if (e.Type == ProcEventType.Fork)
            {
                _groupExits.OnThreadCreated(e);
                HandOnHeldExit(e.Pid);
            }

            return;
        }

        if (_draining)
        {
            ref var order = ref CollectionsMarshal.GetValueRefOrAddDefault(_pendingOrder, e.ProcessPid, out _);
            if (e.Type == ProcEventType.Fork)
            {
                order.LastFork = _pendingTail;
            }
            else
            {
                order.LastExit = _pendingTail;
            }

            _pendingTail++;
            _pending.Enqueue(e);
            return;
        }

        if (e.Type == ProcEventType.Exit)
        {
            HandleExit(e);
            return;
        }

        // Read now, on this thread: a short-lived process is gone by the time any later stage could look.
        ProcReadFailures failures;
        var sample = e.Type == ProcEventType.Fork && !_options.FullSampleOnFork
            ? _reader.ReadStatOnly(e.ProcessPid, out failures, holdOpen: true)
            : _reader.Read(e.ProcessPid, out failures);
        Metrics.Enrichment.Count(failures);
        if (e.Type == ProcEventType.Exec)
        {
            if (sample.Args is { Length: 0 })
            {
                Metrics.Enrichment.Zombies.Increment();
            }

            ExecRead?.Invoke(sample);
        }

        if (_deferredSocket is not null)
        {
            // Forks and exits that happened before this event go first: the kernel queued each of them on the
            // deferred socket before this event existed, so a drain now has them all. With forks deferred, this
            // process's own fork is among them; with forks on this socket, the exit of the process whose pid
            // this child got is, and must reach the tracker before this fork.
            DrainDeferred();
            FlushPending(e.TimestampNs, e.Type == ProcEventType.Exec ? sample : null);
        }

        if (e.Type == ProcEventType.Fork)
        {
            HandOnHeldExit(e.ProcessPid);
            _groupExits.OnSingleThreaded(e);
        }
        else if (e.Type == ProcEventType.Exec)
        {
            if (_groupExits.Count > 0 && _groupExits.Forget(e.ProcessPid))
            {
                // A thread of the held group exec'd: the process lives on under the new image.
                Metrics.GroupExitsExec.Increment();
            }

            _groupExits.OnSingleThreaded(e);
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

    private void CheckDrops(bool overflowReported)
    {
        _sinceDropCheck = 0;
        if (_dropsAvailable && ReadDrops() is { } drops)
        {
            var delta = drops - _dropsBaseline - _socketDrops;
            if (delta > 0)
            {
                _socketDrops += delta;
                Metrics.SocketDrops.Add(delta);
            }
        }
        else if (overflowReported)
        {
            // No drop counter on this kernel: we know "at least one", not how many.
            _socketDrops++;
            Metrics.SocketDrops.Increment();
        }

        UpdateKernelLoss();
    }

    /// <summary>Drops of both sockets since they opened, offset by the main socket's baseline.</summary>
    private long? ReadDrops()
    {
        if (_socket!.ReadDrops() is not { } drops)
        {
            return null;
        }

        if (_deferredSocket?.ReadDrops() is { } deferredDrops)
        {
            drops += deferredDrops - _deferredDropsBaseline;
        }

        return drops;
    }

    /// <summary>
    /// Socket drops and sequence gaps see the same lost messages twice (a dropped message also leaves a gap),
    /// so the kernel-side loss is the larger of the two, and only its growth is reported. The numbers the previous
    /// worker left unread predate this worker's sockets, so they add to either.
    /// </summary>
    private void UpdateKernelLoss()
    {
        var known = Math.Max(_socketDrops, _sequenceGaps) + _carriedGaps;
        var delta = known - _reportedKernelLoss;
        if (delta > 0)
        {
            _reportedKernelLoss = known;
            Metrics.Lost.Add(delta);
            _queue.OweLoss(delta);

            // Thread creations may be among the lost: until the next idle moment every main-thread exit asks /proc.
            _groupExits.ThreadsUnknown();
            _threadsLost = true;
        }
    }
}
