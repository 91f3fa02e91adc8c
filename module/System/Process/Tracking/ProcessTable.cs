using Shipper.Module.Registry;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Module.System.Process.Tracking;

/// <summary>
/// The process table and its folding rules (quark's semantics). Single-threaded: only the tracker loop calls it.
/// <list type="bullet">
/// <item>One entry per process instance, keyed by pid and validated by start time: pid reuse never merges two
/// processes.</item>
/// <item>Events of one pid are held up to the hold target (see <see cref="HoldPolicy"/>) from the first held
/// event and folded into one report; a second exec first flushes the held events, so two execs never fold.</item>
/// <item>An exited entry stays findable (as a parent) for the grace time after its report.</item>
/// <item>The table holds at most <c>max_tracked</c> entries. When it is full, the oldest exited entry is evicted.
/// When every entry is a live process, a new process is reported without an entry ("untracked": each of its
/// events becomes its own document at once, none is dropped) and counted in <c>process.untracked</c>.</item>
/// <item>Kernel threads (pid 2, children of pid 2, PF_KTHREAD) are tracked to recognise them but never reported.</item>
/// </list>
/// Reports are queued in order and taken with <see cref="TryPeekReport"/> and <see cref="RemoveReport"/>. Every
/// observed event ends in exactly one place: a report (<see cref="ProcessReport.Observations"/> counts the events
/// folded into it) or one of the counters <c>process.stale_events</c>, <c>process.kernel_thread_events</c>,
/// <c>process.repeated_exits</c>, <c>process.change_events</c>.
/// </summary>
public sealed class ProcessTable
{
    private const int KThreadDaemonPid = 2;

    private readonly ProcessSettings _settings;
    private readonly TimeProvider _time;
    private readonly ProcessMetrics _metrics;
    private readonly EventClock _clock;
    private readonly Dictionary<int, TrackedProcess> _entries;
    private readonly LinkedList<TrackedProcess> _held = new();
    private readonly Queue<TrackedProcess> _grace = new();
    private readonly Queue<ProcessReport> _reports = new();
    private readonly long _graceTicks;
    private int _scanGeneration;
    private ulong _ignoreBeforeNs;
    private HashSet<int>? _scannedAtStart;

    public ProcessTable(ProcessSettings settings, TimeProvider time, ProcessMetrics metrics)
    {
        _settings = settings;
        _time = time;
        _metrics = metrics;
        _clock = new EventClock(time);
        _entries = new Dictionary<int, TrackedProcess>(Math.Min(settings.MaxTracked, 4096));
        _graceTicks = ToTicks(settings.CacheGraceTime);
    }

    public int Count => _entries.Count;

    public int HeldCount => _held.Count;

    public int QueuedReports => _reports.Count;

    /// <summary>The entries; only for the loop's owner (or after the loop stopped).</summary>
    public IEnumerable<TrackedProcess> Entries => _entries.Values;

    public bool TryGet(int pid, out TrackedProcess entry) => _entries.TryGetValue(pid, out entry!);

    public bool TryTakeReport(out ProcessReport report) => _reports.TryDequeue(out report!);

    /// <summary>The oldest queued report, left in the queue until <see cref="RemoveReport"/> (so a cancelled hand-over loses nothing).</summary>
    public bool TryPeekReport(out ProcessReport report) => _reports.TryPeek(out report!);

    public void RemoveReport() => _reports.Dequeue();

    /// <summary>
    /// The start-up scan (which began at <paramref name="scanStartNs"/>, CLOCK_MONOTONIC) reports every process it
    /// found as existing: a queued event stamped before it, of a pid the scan found, is already shown by the scan and
    /// is ignored (counted in <c>process.stale_events</c>). Events of other pids are applied as usual, so a process
    /// that started and ended just before the scan is still reported as it ran.
    /// </summary>
    public void IgnoreEarlierEventsOf(IReadOnlyList<ProcessSample> scanned, ulong scanStartNs)
    {
        _scannedAtStart = new HashSet<int>(scanned.Count);
        foreach (var sample in scanned)
        {
            _scannedAtStart.Add(sample.Pid);
        }

        _ignoreBeforeNs = scanStartNs;
    }

    /// <summary>
    /// When set, a kernel fork whose child was reaped before its <c>stat</c> could be read takes its start time
    /// (and so its <c>entity_id</c>) from the fork event's timestamp. Unset, such a child has no start time.
    /// </summary>
    public BootClock? ForkStartClock { get; set; }

    /// <summary>Applies one kernel (or poll-synthesised) event. Loss observations are the caller's business (resync).</summary>
    public void Observe(in ProcessObservation observation)
    {
        var ev = observation.Event;
        if (ev.TimestampNs != 0 && ev.TimestampNs < _ignoreBeforeNs && _scannedAtStart!.Contains(ev.ProcessPid))
        {
            _metrics.StaleEvents.Increment();
            return;
        }

        switch (ev.Type)
        {
            case ProcEventType.Fork:
                OnFork(ev, observation.Sample, observation.Synthetic);
                break;
            case ProcEventType.Exec:
                OnExec(ev, observation.Sample);
                break;
            case ProcEventType.Exit:
                // A poller's exit (procfs backend) has no exit code.
                OnExit(ev, observation.Sample, exitCodeKnown: !observation.Synthetic);
                break;
            default:
                OnChange(ev, observation.Sample);
                break;
        }
    }

    /// <summary>
    /// Reports every running process from a /proc scan as <c>existing_process</c>: at start-up (kind event) and
    /// for each state report (kind state, one shared id). Entries are created or refreshed; nothing is held.
    /// </summary>
    public void LoadSnapshot(IReadOnlyList<ProcessSample> samples, EventKind kind, string? stateId)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        foreach (var sample in samples)
        {
            var entry = Refresh(sample, out _);
            if (entry.IsKernelThread)
            {
                continue;
            }

            Emit(entry, ProcessEvents.Snapshot, now, kind, stateId, sample.Errors, countAggregation: false, observations: 0);
        }
    }

    /// <summary>
    /// After lost events: flushes what is held, then makes the table match a fresh /proc scan. Processes that
    /// vanished are reported stopped (exit not observed), new ones started, and ones whose image changed unseen
    /// as changed image.
    /// </summary>
    public void Resync(IReadOnlyList<ProcessSample> samples)
    {
        FlushAll();
        var generation = ++_scanGeneration;
        var now = _time.GetUtcNow().UtcDateTime;
        foreach (var sample in samples)
        {
            // A zombie nobody knew is a process whose start and end were both lost; it is not "started".
            if (sample.State == 'Z' && !_entries.ContainsKey(sample.Pid))
            {
                continue;
            }

            var entry = Refresh(sample, out var outcome);
            entry.SeenInScan = generation;
            if (entry.IsKernelThread)
            {
                continue;
            }

            switch (outcome)
            {
                case RefreshOutcome.Added:
                    Emit(entry, ProcessEvents.Fork, now, EventKind.Event, null, sample.Errors, countAggregation: true, observations: 0);
                    break;
                case RefreshOutcome.ImageChanged:
                    Emit(entry, ProcessEvents.Exec, now, EventKind.Event, null, sample.Errors, countAggregation: true, observations: 0);
                    break;
            }
        }

        List<TrackedProcess>? vanished = null;
        foreach (var entry in _entries.Values)
        {
            if (entry.SeenInScan != generation && !entry.Exited)
            {
                (vanished ??= new List<TrackedProcess>()).Add(entry);
            }
        }

        if (vanished is not null)
        {
            foreach (var entry in vanished)
            {
                RetireUnobserved(entry, now);
            }
        }

        _metrics.Resyncs.Increment();
    }

    /// <summary>Flushes holds that are due and drops exited entries whose grace time is over.</summary>
    public void Advance()
    {
        var now = _time.GetTimestamp();
        var target = ToTicks(HoldTarget());
        while (_held.First is { } first && now - first.Value.PendingSince >= target)
        {
            Flush(first.Value);
        }

        while (_grace.TryPeek(out var entry))
        {
            if (!IsCurrent(entry))
            {
                _grace.Dequeue();
                continue;
            }

            if (now < entry.GraceDeadline)
            {
                break;
            }

            _grace.Dequeue();
            Remove(entry);
        }
    }

    /// <summary>The monotonic timestamp at which <see cref="Advance"/> has work next, or null when nothing waits.</summary>
    public long? NextDue()
    {
        long? due = null;
        if (_held.First is { } first)
        {
            due = first.Value.PendingSince + ToTicks(HoldTarget());
        }

        while (_grace.TryPeek(out var entry) && !IsCurrent(entry))
        {
            _grace.Dequeue();
        }

        if (_grace.TryPeek(out var next) && (due is null || next.GraceDeadline < due))
        {
            due = next.GraceDeadline;
        }

        return due;
    }

    /// <summary>Reports everything held now (shutdown, before a resync).</summary>
    public void FlushAll()
    {
        while (_held.First is { } first)
        {
            Flush(first.Value);
        }
    }

    public TimeSpan HoldTarget() => HoldPolicy.Target(_settings.HoldTime, _entries.Count, _settings.MaxTracked);

    private void OnFork(in ProcConnectorEvent ev, ProcessSample? sample, bool synthetic)
    {
        var pid = ev.ProcessPid;
        var wall = _clock.ToWallTime(ev.TimestampNs);
        if (_entries.TryGetValue(pid, out var existing))
        {
            if (!existing.Exited && existing.Facts.IsSameInstance(sample) && existing.Facts.StatKnown && sample is not null && sample.HasStat)
            {
                // The same instance already known (a snapshot raced with its fork): report the fork on it.
                if ((existing.Pending & ProcessEvents.Fork) != 0)
                {
                    Flush(existing);
                }

                existing.Facts.Merge(sample, exec: false);
                if (existing.IsKernelThread)
                {
                    _metrics.KernelThreadEvents.Increment();
                    return;
                }

                Hold(existing, ProcessEvents.Fork, wall, sample.Errors);
                return;
            }

            Retire(existing, wall);
        }

        var facts = ProcessFacts.ForEvent(pid, sample);
        // The fork event names the parent for certain; a stat read while the child is already being reaped
        // can show parent 0.
        if (!facts.StatKnown || facts.ParentPid == 0)
        {
            facts.ParentPid = ev.ParentTgid;
        }

        if (!facts.StatKnown && !synthetic && ev.TimestampNs != 0 && ForkStartClock is { } forkClock)
        {
            facts.StartTimeTicks = forkClock.StartTimeTicksAt(ev.TimestampNs);
            facts.StartFromForkEvent = facts.StartTimeTicks != 0;
        }

        var parent = FindParent(facts.ParentPid, facts);
        if (parent is not null)
        {
            facts.InheritFrom(parent.Facts);
        }

        var entry = new TrackedProcess(facts)
        {
            IsKernelThread = IsKernelThread(facts) || ev.ParentTgid == KThreadDaemonPid,
        };

        if (sample is null && parent is null)
        {
            entry.AddError($"cannot read /proc/{pid}: process exited before it could be read");
        }

        Admit(entry, ProcessEvents.Fork, wall, sample?.Errors);
    }

    private void OnExec(in ProcConnectorEvent ev, ProcessSample? sample)
    {
        var pid = ev.ProcessPid;
        var wall = _clock.ToWallTime(ev.TimestampNs);
        if (_entries.TryGetValue(pid, out var existing) && !existing.Exited && existing.Facts.IsSameInstance(sample))
        {
            if (existing.IsKernelThread)
            {
                if (sample is not null)
                {
                    existing.Facts.Merge(sample, exec: true);
                }

                _metrics.KernelThreadEvents.Increment();
                return;
            }

            // Two execs never fold: the first one is reported before the second is held.
            if ((existing.Pending & (ProcessEvents.Exec | ProcessEvents.Exit)) != 0)
            {
                Flush(existing);
            }

            ApplyExec(existing, sample, pid);
            Hold(existing, ProcessEvents.Exec, wall, sample?.Errors);
            return;
        }

        if (existing is not null)
        {
            Retire(existing, wall);
        }

        var facts = ProcessFacts.ForEvent(pid, sample);
        var entry = new TrackedProcess(facts) { IsKernelThread = IsKernelThread(facts) };
        if (sample is null)
        {
            entry.AddError($"cannot read /proc/{pid}: process exited before it could be read");
        }

        Admit(entry, ProcessEvents.Exec, wall, sample?.Errors);
    }

    private void OnExit(in ProcConnectorEvent ev, ProcessSample? sample, bool exitCodeKnown)
    {
        var pid = ev.ProcessPid;
        var wall = _clock.ToWallTime(ev.TimestampNs);
        var exit = exitCodeKnown ? ExitStatus.FromWaitStatus(ev.ExitCode) : ExitStatus.Unknown;
        if (_entries.TryGetValue(pid, out var existing) && !existing.Exited && existing.Facts.IsSameInstance(sample))
        {
            if (existing.IsKernelThread)
            {
                _metrics.KernelThreadEvents.Increment();
                Remove(existing);
                return;
            }

            if ((existing.Pending & ProcessEvents.Exit) != 0)
            {
                Flush(existing);
            }

            if (sample is not null)
            {
                existing.Facts.Merge(sample, exec: false);
            }

            MarkExited(existing, wall, exit);
            Hold(existing, ProcessEvents.Exit, wall, null);
            return;
        }

        if (existing is not null && existing.Exited && (sample is null || existing.Facts.IsSameInstance(sample)))
        {
            // A repeated exit of a process already reported gone: nothing new to say.
            _metrics.RepeatedExits.Increment();
            return;
        }

        if (existing is not null)
        {
            Retire(existing, wall);
        }

        // An exit of a process we never saw start (its fork was lost): report what there is.
        var facts = ProcessFacts.ForEvent(pid, sample);
        var entry = new TrackedProcess(facts) { IsKernelThread = IsKernelThread(facts) };
        if (entry.IsKernelThread)
        {
            _metrics.KernelThreadEvents.Increment();
            return;
        }

        MarkExited(entry, wall, exit);
        Admit(entry, ProcessEvents.Exit, wall, null);
    }

    private void OnChange(in ProcConnectorEvent ev, ProcessSample? sample)
    {
        // uid/gid/sid/comm changes are not reported on their own; they refresh what the next document says.
        _metrics.ChangeEvents.Increment();
        if (sample is not null && _entries.TryGetValue(ev.ProcessPid, out var existing) && !existing.Exited
            && existing.Facts.IsSameInstance(sample))
        {
            existing.Facts.Merge(sample, exec: false);
        }
    }

    private void ApplyExec(TrackedProcess entry, ProcessSample? sample, int pid)
    {
        if (sample is not null)
        {
            entry.Facts.Merge(sample, exec: true);
            return;
        }

        entry.Facts.ForgetImage();
        entry.AddError($"cannot read /proc/{pid}: process exited before its new image could be read");
    }

    private static void MarkExited(TrackedProcess entry, DateTime wall, ExitStatus exit)
    {
        entry.Exited = true;
        entry.EndTime = wall;
        entry.Exit = exit;
    }

    /// <summary>Inserts a new entry and holds its first event; when the table is full of live processes the event is reported at once.</summary>
    private void Admit(TrackedProcess entry, ProcessEvents events, DateTime wall, List<string>? errors)
    {
        var tracked = TryInsert(entry);
        if (!tracked)
        {
            _metrics.Untracked.Increment();
        }

        if (entry.IsKernelThread)
        {
            _metrics.KernelThreadEvents.Increment();
            return;
        }

        if (!tracked)
        {
            entry.Pend(events, wall, errors);
            EmitPending(entry);
            return;
        }

        Hold(entry, events, wall, errors);
    }

    private void Hold(TrackedProcess entry, ProcessEvents events, DateTime wall, List<string>? errors)
    {
        entry.Pend(events, wall, errors);
        if (HoldTarget() <= TimeSpan.Zero)
        {
            Flush(entry);
            return;
        }

        if (entry.HoldNode.List is null)
        {
            entry.PendingSince = _time.GetTimestamp();
            entry.HeldParent = FindParent(entry.Facts.ParentPid, entry.Facts);
            _held.AddLast(entry.HoldNode);
        }
    }

    private void Flush(TrackedProcess entry)
    {
        if (entry.HoldNode.List is not null)
        {
            _held.Remove(entry.HoldNode);
        }

        if (entry.Pending == ProcessEvents.None)
        {
            return;
        }

        EmitPending(entry);
        if (entry.Exited && IsCurrent(entry))
        {
            ScheduleRemoval(entry);
        }
    }

    private void EmitPending(TrackedProcess entry)
    {
        Emit(entry, entry.Pending, entry.PendingEventTime, EventKind.Event, null, entry.PendingErrors, countAggregation: true, entry.PendingObservations);
        entry.Pending = ProcessEvents.None;
        entry.PendingObservations = 0;
        entry.PendingErrors = null;
        entry.HeldParent = null;
    }

    private void Emit(
        TrackedProcess entry,
        ProcessEvents events,
        DateTime timestamp,
        EventKind kind,
        string? stateId,
        List<string>? errors,
        bool countAggregation,
        int observations)
    {
        if (countAggregation)
        {
            if (BitCount(events) > 1)
            {
                _metrics.Aggregations.Increment();
            }
            else
            {
                _metrics.NonAggregations.Increment();
            }
        }

        var facts = entry.Facts.Clone();
        var exited = (events & ProcessEvents.Exit) != 0;
        _reports.Enqueue(new ProcessReport
        {
            Events = events,
            Kind = kind,
            StateId = stateId,
            Timestamp = timestamp,
            Facts = facts,
            Parent = Summarise(FindParent(facts.ParentPid, facts) ?? (entry.HeldParent is { } held && held.Pid == facts.ParentPid ? held : null)),
            EndTime = exited ? entry.EndTime : null,
            Exit = exited ? entry.Exit : ExitStatus.Unknown,
            Errors = errors is { Count: > 0 } ? errors : null,
            Observations = observations,
        });
    }

    /// <summary>An entry whose pid now belongs to another process: report what it held, and its end if it was never seen.</summary>
    private void Retire(TrackedProcess entry, DateTime wall)
    {
        Flush(entry);
        if (!entry.Exited)
        {
            RetireUnobserved(entry, wall);
            return;
        }

        Remove(entry);
    }

    /// <summary>A live entry that is gone without an exit event: report it stopped (no exit code, no end time).</summary>
    private void RetireUnobserved(TrackedProcess entry, DateTime wall)
    {
        Flush(entry);
        if (!entry.IsKernelThread)
        {
            _metrics.ExitsNotObserved.Increment();
            entry.Exited = true;
            entry.EndTime = null;
            entry.Exit = ExitStatus.Unknown;
            Emit(entry, ProcessEvents.Exit, wall, EventKind.Event, null, null, countAggregation: true, observations: 0);
        }

        Remove(entry);
    }

    private enum RefreshOutcome
    {
        Known,
        Added,
        ImageChanged,
    }

    /// <summary>Creates or refreshes the entry of a scanned process (a different instance with the same pid replaces the old one).</summary>
    private TrackedProcess Refresh(ProcessSample sample, out RefreshOutcome outcome)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (_entries.TryGetValue(sample.Pid, out var existing))
        {
            if (existing.Exited && existing.Facts.IsSameInstance(sample))
            {
                // The zombie of a process already reported gone: it stays gone.
                outcome = RefreshOutcome.Known;
                return existing;
            }

            if (!existing.Exited && existing.Facts.IsSameInstance(sample))
            {
                var changed = ImageDiffers(existing.Facts, sample);
                existing.Facts.Merge(sample, exec: changed);
                existing.IsKernelThread |= IsKernelThread(existing.Facts);
                outcome = changed ? RefreshOutcome.ImageChanged : RefreshOutcome.Known;
                return existing;
            }

            if (existing.Exited)
            {
                Flush(existing);
                Remove(existing);
            }
            else
            {
                RetireUnobserved(existing, now);
            }
        }

        var facts = ProcessFacts.FromSample(sample);
        var entry = new TrackedProcess(facts) { IsKernelThread = IsKernelThread(facts) };
        if (!TryInsert(entry))
        {
            _metrics.Untracked.Increment();
        }

        outcome = RefreshOutcome.Added;
        return entry;
    }

    private static bool ImageDiffers(ProcessFacts known, ProcessSample sample)
    {
        if (sample.Executable is not null && known.Executable is not null && sample.Executable != known.Executable)
        {
            return true;
        }

        // Another inode at the same path is another exec (a restart after an upgrade); an unlinked or renamed
        // file keeps its inode, so a running process whose file was replaced is not mistaken for one.
        if (sample.ExecutableIdentity is { } now && known.ExecutableIdentity is { } then && (now.Device != then.Device || now.Inode != then.Inode))
        {
            return true;
        }

        return sample.Args is { Length: > 0 } args && known.Args is { } knownArgs && !args.AsSpan().SequenceEqual(knownArgs);
    }

    private static bool IsKernelThread(ProcessFacts facts) =>
        facts.Pid == KThreadDaemonPid || facts.IsKernelThreadFlagged || (facts.StatKnown && facts.ParentPid == KThreadDaemonPid);

    /// <summary>The parent's entry, when it is the real parent: a pid reused after the child started is not.</summary>
    private TrackedProcess? FindParent(int parentPid, ProcessFacts child)
    {
        if (parentPid <= 0 || parentPid == child.Pid || !_entries.TryGetValue(parentPid, out var parent))
        {
            return null;
        }

        if (child.StartKnown && parent.Facts.StartKnown && parent.Facts.StartTimeTicks > child.StartTimeTicks)
        {
            return null;
        }

        return parent;
    }

    private static ParentSummary? Summarise(TrackedProcess? parent) =>
        parent is null
            ? null
            : new ParentSummary(
                parent.Pid,
                parent.Facts.Name,
                parent.Facts.Executable,
                parent.Facts.Args,
                parent.Facts.StartKnown,
                parent.Facts.StartTimeTicks,
                parent.Facts.StartBootNanoseconds);

    private bool TryInsert(TrackedProcess entry)
    {
        if (_entries.Count >= _settings.MaxTracked && !EvictOneExited())
        {
            return false;
        }

        _entries[entry.Pid] = entry;
        _metrics.Insertions.Increment();
        _metrics.Tracked.Set(_entries.Count);
        return true;
    }

    private bool EvictOneExited()
    {
        while (_grace.TryDequeue(out var entry))
        {
            if (IsCurrent(entry))
            {
                Remove(entry);
                return true;
            }
        }

        return false;
    }

    private void ScheduleRemoval(TrackedProcess entry)
    {
        if (_graceTicks <= 0)
        {
            Remove(entry);
            return;
        }

        entry.GraceDeadline = _time.GetTimestamp() + _graceTicks;
        _grace.Enqueue(entry);
    }

    private void Remove(TrackedProcess entry)
    {
        if (entry.HoldNode.List is not null)
        {
            _held.Remove(entry.HoldNode);
        }

        if (IsCurrent(entry))
        {
            _entries.Remove(entry.Pid);
            _metrics.Removals.Increment();
            _metrics.Tracked.Set(_entries.Count);
        }
    }

    private bool IsCurrent(TrackedProcess entry) =>
        _entries.TryGetValue(entry.Pid, out var current) && ReferenceEquals(current, entry);

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private static int BitCount(ProcessEvents events) => global::System.Numerics.BitOperations.PopCount((uint)events);
}
