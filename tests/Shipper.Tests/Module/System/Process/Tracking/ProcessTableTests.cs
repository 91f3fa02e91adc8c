using Microsoft.Extensions.Time.Testing;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Procfs;
using Shipper.Module.System.Process.Hashing;
using Shipper.Module.System.Process.Tracking;
using static Shipper.Tests.Module.System.Process.ProcessFixtures;

namespace Shipper.Tests.Module.System.Process.Tracking;

public class ProcessTableTests
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(4);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly MetricsRegistry _registry;
    private readonly ProcessTable _table;

    public ProcessTableTests()
    {
        var metrics = Metrics(out _registry);
        _table = new ProcessTable(new ProcessSettings { HoldTime = Hold, CacheGraceTime = Grace, MaxTracked = 1000 }, _time, metrics);

        // A shell (pid 100) is running when we start.
        _table.LoadSnapshot(new[] { Sample(1, 0, 1, "systemd"), Sample(100, 1, 50, "bash", new[] { "-bash" }, "/usr/bin/bash") }, EventKind.Event, null);
        Take(2);
    }

    [Fact]
    public void ForkExecExitWithinTheHoldFoldIntoOneProcessRan()
    {
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "bash", new[] { "-bash" }, "/usr/bin/bash")));
        _table.Observe(Exec(200, Sample(200, 100, 500, "true", new[] { "/bin/true", "x1" }, "/usr/bin/true", cwd: "/tmp")));
        _table.Observe(Exit(200, 0));

        Advance(Hold - TimeSpan.FromMilliseconds(1));
        Assert.Empty(Take(0));

        Advance(TimeSpan.FromMilliseconds(1));
        var report = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Fork | ProcessEvents.Exec | ProcessEvents.Exit, report.Events);
        Assert.Equal(new[] { "/bin/true", "x1" }, report.Facts.Args);
        Assert.Equal("/usr/bin/true", report.Facts.Executable);
        Assert.Equal("/tmp", report.Facts.WorkingDirectory);
        Assert.True(report.Exit.Known);
        Assert.Equal(0, report.Exit.Code);
        Assert.NotNull(report.EndTime);
        Assert.Equal("bash", report.Parent?.Name);
        Assert.Equal(1, Value(_registry, "process.aggregations"));
    }

    [Fact]
    public void AStatReadWhileTheProcessIsReapedDoesNotEraseItsParent()
    {
        // Being reaped, a task's stat still has its start time but reads 0 for parent, group and session.
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "bash")));
        var reaped = Sample(200, 0, 500, "true");
        reaped.ProcessGroupId = 0;
        reaped.SessionId = 0;
        _table.Observe(Exec(200, reaped));
        _table.Observe(Exit(200, 0));
        Advance(Hold);

        var report = Assert.Single(Take(1));
        Assert.Equal(100, report.Facts.ParentPid);
        Assert.Equal("bash", report.Parent?.Name);
        Assert.NotEqual(0, report.Facts.SessionId);
    }

    [Fact]
    public void AForkReapedBeforeItsStatWasReadTakesItsStartTimeFromTheForkEvent()
    {
        // Booted at 1,700,000,000 s, never suspended: the fork came 12.345678901 s after boot, in tick 1234.
        const long Boot = 1_700_000_000_000_000_000;
        _table.ForkStartClock = new BootClock(Boot, Boot, 100);
        var gone = new ProcessSample { Pid = 300, StatOnly = true };
        gone.AddError("cannot read /proc/300/stat: process exited (reaped)");
        _table.Observe(Fork(300, 100, gone, timestampNs: 12_345_678_901));
        _table.Observe(Exit(300, 0));
        Advance(Hold);

        var report = Assert.Single(Take(1));
        Assert.True(report.Facts.StartKnown);
        Assert.True(report.Facts.StartFromForkEvent);
        Assert.Equal(1234UL, report.Facts.StartTimeTicks);
        Assert.False(report.Facts.StatKnown); // group, session and tty stay unknown rather than guessed
        Assert.Equal("bash", report.Facts.Name); // until it execs, a child runs its parent's image

        // Without the clock (tests, the procfs backend's own forks) such a child has no start time.
        _table.ForkStartClock = null;
        _table.Observe(Fork(301, 100, gone, timestampNs: 12_345_678_901));
        _table.Observe(Exit(301, 0));
        Advance(Hold);
        Assert.False(Assert.Single(Take(1)).Facts.StartKnown);
    }

    [Fact]
    public void TheForkEventNamesTheParentWhenTheForkSampleShowsNone()
    {
        var reaped = Sample(200, 0, 500, "");
        reaped.Name = null;
        _table.Observe(Fork(200, 100, reaped));
        _table.Observe(Exit(200, 0));
        Advance(Hold);

        var report = Assert.Single(Take(1));
        Assert.Equal(100, report.Facts.ParentPid);
        Assert.Equal("bash", report.Parent?.Name);
    }

    [Fact]
    public void ForkAndExecAloneFoldIntoOneStarted()
    {
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "bash")));
        _table.Observe(Exec(200, Sample(200, 100, 500, "sleep", new[] { "sleep", "60" })));
        Advance(Hold);

        var report = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Fork | ProcessEvents.Exec, report.Events);
        Assert.False(report.Exit.Known);
        Assert.Null(report.EndTime);
    }

    [Fact]
    public void ForkAloneIsStartedWithTheParentsImage()
    {
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "bash", new[] { "-bash" }, "/usr/bin/bash")));
        Advance(Hold);

        var report = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Fork, report.Events);
        Assert.Equal(new[] { "-bash" }, report.Facts.Args);
        Assert.Equal(1, Value(_registry, "process.non_aggregations"));
    }

    [Fact]
    public void ExecOfARunningProcessIsChangedImage()
    {
        _table.Observe(Exec(100, Sample(100, 1, 50, "vim", new[] { "vim", "notes" }, "/usr/bin/vim")));
        Advance(Hold);

        var report = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Exec, report.Events);
        Assert.Equal("vim", report.Facts.Name);
        Assert.Equal("systemd", report.Parent?.Name);
    }

    [Fact]
    public void ExitOfARunningProcessIsStoppedWithItsExitCode()
    {
        _table.Observe(Exit(100, 3 << 8));
        Advance(Hold);

        var report = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Exit, report.Events);
        Assert.Equal(new ExitStatus(true, 3, 0, false), report.Exit);
        Assert.Equal("bash", report.Facts.Name);
    }

    [Fact]
    public void DeathBySignalKeepsQuarksExitCodeAndNamesTheSignal()
    {
        _table.Observe(Exit(100, 9));
        Advance(Hold);

        var report = Assert.Single(Take(1));
        Assert.Equal(new ExitStatus(true, 0, 9, false), report.Exit);
    }

    [Fact]
    public void PolledExitHasNoExitCode()
    {
        _table.Observe(Exit(100, 0) with { Synthetic = true });
        Advance(Hold);

        var report = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Exit, report.Events);
        Assert.False(report.Exit.Known);
        Assert.NotNull(report.EndTime);
    }

    [Fact]
    public void TwoExecsNeverFold()
    {
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "bash")));
        _table.Observe(Exec(200, Sample(200, 100, 500, "sh", new[] { "/bin/sh", "-c", "exec sleep 1" }, "/usr/bin/dash")));
        Assert.Empty(Take(0));

        // The second exec flushes the first fold at once, then is held itself.
        _table.Observe(Exec(200, Sample(200, 100, 500, "sleep", new[] { "sleep", "1" }, "/usr/bin/sleep")));
        var first = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Fork | ProcessEvents.Exec, first.Events);
        Assert.Equal("/usr/bin/dash", first.Facts.Executable);

        _table.Observe(Exit(200, 0));
        Advance(Hold);
        var second = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Exec | ProcessEvents.Exit, second.Events);
        Assert.Equal("/usr/bin/sleep", second.Facts.Executable);
    }

    [Fact]
    public void ExecWhoseProcReadFailedDoesNotReportTheParentsCommandLine()
    {
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "bash", new[] { "-bash" }, "/usr/bin/bash")));
        _table.Observe(Exec(200, Vanished(200)));
        _table.Observe(Exit(200, 0));
        Advance(Hold);

        var report = Assert.Single(Take(1));
        Assert.Null(report.Facts.Args);
        Assert.Null(report.Facts.Executable);
        Assert.Contains("cannot read /proc/200: process exited", report.Errors!);
    }

    [Fact]
    public void HoldStartsAtTheFirstEventOfThePid()
    {
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "bash")));
        Advance(TimeSpan.FromMilliseconds(900));
        _table.Observe(Exec(200, Sample(200, 100, 500, "sleep")));
        Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal(ProcessEvents.Fork | ProcessEvents.Exec, Assert.Single(Take(1)).Events);
    }

    [Fact]
    public void ExitedProcessStaysFindableAsAParentForTheGraceTime()
    {
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "make", new[] { "make" }, "/usr/bin/make")));
        _table.Observe(Fork(201, 200, Sample(201, 200, 510, "make")));
        _table.Observe(Exit(200, 0));
        Advance(Hold);
        Take(2);

        // The child's exit comes within the parent's grace time; the parent leaves the table before the
        // child's hold ends, yet the child's document still names it.
        Advance(Grace - TimeSpan.FromMilliseconds(10));
        _table.Observe(Exit(201, 0));
        Advance(TimeSpan.FromMilliseconds(20));
        Assert.False(_table.TryGet(200, out _));
        Advance(Hold);
        var report = Assert.Single(Take(1));
        Assert.Equal("/usr/bin/make", report.Parent?.Executable);
        Assert.True(_table.TryGet(201, out _));

        Advance(Grace);
        Assert.False(_table.TryGet(201, out _));
    }

    [Fact]
    public void PidReuseNeverMergesTwoProcesses()
    {
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "one", new[] { "one" })));
        _table.Observe(Exit(200, 0));

        // The pid comes back for another process inside the hold window.
        _table.Observe(Fork(200, 100, Sample(200, 100, 700, "two", new[] { "two" })));
        var first = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Fork | ProcessEvents.Exit, first.Events);
        Assert.Equal("one", first.Facts.Name);
        Assert.Equal(500UL, first.Facts.StartTimeTicks);

        _table.Observe(Exit(200, 1 << 8));
        Advance(Hold);
        var second = Assert.Single(Take(1));
        Assert.Equal("two", second.Facts.Name);
        Assert.Equal(700UL, second.Facts.StartTimeTicks);
        Assert.Equal(1, second.Exit.Code);
    }

    [Fact]
    public void ExecWithAnotherStartTimeIsAnotherProcess()
    {
        // pid 100 exited and was reused, but both the exit and the fork were lost.
        _table.Observe(Exec(100, Sample(100, 1, 900, "nginx")));
        var stale = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Exit, stale.Events);
        Assert.Equal("bash", stale.Facts.Name);
        Assert.False(stale.Exit.Known);

        Advance(Hold);
        var report = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Exec, report.Events);
        Assert.Equal(900UL, report.Facts.StartTimeTicks);
        Assert.Equal(1, Value(_registry, "process.exits_not_observed"));
    }

    [Fact]
    public void KernelThreadsAreNeverReported()
    {
        _table.LoadSnapshot(
            new[]
            {
                Sample(2, 0, 1, "kthreadd", Array.Empty<string>()),
                Sample(30, 2, 2, "kworker/0:1", Array.Empty<string>()),
                Sample(31, 1, 3, "odd", Array.Empty<string>(), flags: ProcessSample.KernelThreadFlag),
            },
            EventKind.Event,
            null);
        Assert.Empty(Take(0));

        _table.Observe(Fork(40, 2, Sample(40, 2, 600, "kworker/1:0", Array.Empty<string>())));
        _table.Observe(Fork(41, 2, null));
        _table.Observe(Exit(30, 0));
        _table.Observe(Exit(31, 0));
        _table.Observe(Exit(40, 0));
        Advance(Hold);
        Assert.Empty(Take(0));
    }

    [Fact]
    public void ZeroHoldReportsEveryEventAtOnce()
    {
        var table = new ProcessTable(new ProcessSettings { HoldTime = TimeSpan.Zero }, _time, Metrics(out _));
        table.Observe(Fork(200, 100, Sample(200, 100, 500, "bash")));
        table.Observe(Exec(200, Sample(200, 100, 500, "true")));
        Assert.True(table.TryTakeReport(out var fork));
        Assert.True(table.TryTakeReport(out var exec));
        Assert.Equal(ProcessEvents.Fork, fork.Events);
        Assert.Equal(ProcessEvents.Exec, exec.Events);
    }

    [Fact]
    public void FullTableEvictsTheOldestExitedEntryFirst()
    {
        var metrics = Metrics(out var registry);
        var table = new ProcessTable(new ProcessSettings { HoldTime = Hold, CacheGraceTime = Grace, MaxTracked = 3 }, _time, metrics);
        table.LoadSnapshot(new[] { Sample(1, 0, 1, "init"), Sample(10, 1, 2, "a"), Sample(11, 1, 3, "b") }, EventKind.Event, null);
        table.Observe(Exit(10, 0));
        table.Observe(Exit(11, 0));
        _time.Advance(Hold);
        table.Advance();

        table.Observe(Fork(12, 1, Sample(12, 1, 10, "c")));
        Assert.False(table.TryGet(10, out _));
        Assert.True(table.TryGet(11, out _));
        Assert.True(table.TryGet(12, out _));
        Assert.Equal(0, Value(registry, "process.untracked"));
    }

    [Fact]
    public void FullTableOfLiveProcessesReportsNewOnesUntrackedAndLosesNothing()
    {
        var metrics = Metrics(out var registry);
        var table = new ProcessTable(new ProcessSettings { HoldTime = Hold, MaxTracked = 2 }, _time, metrics);
        table.LoadSnapshot(new[] { Sample(1, 0, 1, "init"), Sample(10, 1, 2, "a") }, EventKind.Event, null);
        while (table.TryTakeReport(out _))
        {
        }

        table.Observe(Fork(12, 10, Sample(12, 10, 10, "c")));
        table.Observe(Exit(12, 0));
        Assert.True(table.TryTakeReport(out var fork));
        Assert.True(table.TryTakeReport(out var exit));
        Assert.Equal(ProcessEvents.Fork, fork.Events);
        Assert.Equal("a", fork.Parent?.Name);
        Assert.Equal(ProcessEvents.Exit, exit.Events);
        Assert.Equal(2, table.Count);
        Assert.Equal(2, Value(registry, "process.untracked"));
    }

    [Fact]
    public void ResyncReportsVanishedAsStoppedAndNewAsStarted()
    {
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "sleep")));
        _table.Resync(new[]
        {
            Sample(1, 0, 1, "systemd"),
            Sample(200, 100, 500, "sleep"),
            Sample(300, 1, 800, "cron", new[] { "cron", "-f" }),
            Sample(301, 1, 801, "zombie", Array.Empty<string>(), state: 'Z'),
        });

        var reports = Take(3);
        Assert.Equal(ProcessEvents.Fork, reports[0].Events); // the held fork of 200, flushed first
        Assert.Equal(200, reports[0].Facts.Pid);
        Assert.Equal(ProcessEvents.Fork, reports[1].Events);
        Assert.Equal(300, reports[1].Facts.Pid);
        Assert.Equal(ProcessEvents.Exit, reports[2].Events);
        Assert.Equal(100, reports[2].Facts.Pid);
        Assert.False(reports[2].Exit.Known);
        Assert.False(_table.TryGet(100, out _));
        Assert.Equal(1, Value(_registry, "process.resyncs"));
    }

    [Fact]
    public void ResyncReportsAnImageChangedUnseen()
    {
        _table.Resync(new[] { Sample(1, 0, 1, "systemd"), Sample(100, 1, 50, "python3", new[] { "python3", "x.py" }, "/usr/bin/python3") });
        var report = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Exec, report.Events);
        Assert.Equal("/usr/bin/python3", report.Facts.Executable);
    }

    [Fact]
    public void ResyncTakesAnotherInodeAtTheSamePathForAnExecButNotARenamedOverRunningFile()
    {
        var ran = new FileIdentity(2049, 500, 1_000_000, 0x81ed, 0, 0, 1, 1_700_000_000, 0, 1_700_000_000, 0);
        ProcessSample Bash(FileIdentity identity)
        {
            var sample = Sample(100, 1, 50, "bash", new[] { "-bash" }, "/usr/bin/bash");
            sample.ExecutableIdentity = identity;
            return sample;
        }

        _table.Resync(new[] { Sample(1, 0, 1, "systemd"), Bash(ran) });
        Assert.Empty(Take(0));

        // The running file was renamed over by an upgrade: its links and ctime moved, its inode did not.
        _table.Resync(new[] { Sample(1, 0, 1, "systemd"), Bash(ran with { LinkCount = 0, ChangedSeconds = ran.ChangedSeconds + 5 }) });
        Assert.Empty(Take(0));

        // The same pid now runs the new file at the same path with the same arguments: it exec'd.
        _table.Resync(new[] { Sample(1, 0, 1, "systemd"), Bash(ran with { Inode = 501 }) });
        var report = Assert.Single(Take(1));
        Assert.Equal(ProcessEvents.Exec, report.Events);
        Assert.Equal(501UL, report.Facts.ExecutableIdentity!.Value.Inode);
    }

    [Fact]
    public void StateReportSharesOneIdAndKindState()
    {
        _table.LoadSnapshot(new[] { Sample(1, 0, 1, "systemd"), Sample(100, 1, 50, "bash") }, EventKind.State, "report-1");
        var reports = Take(2);
        Assert.All(reports, r => Assert.Equal(EventKind.State, r.Kind));
        Assert.All(reports, r => Assert.Equal("report-1", r.StateId));
        Assert.All(reports, r => Assert.Equal(ProcessEvents.Snapshot, r.Events));
    }

    [Fact]
    public void IdentityChangesRefreshTheNextDocument()
    {
        _table.Observe(Change(ProcEventType.Uid, 100, Sample(100, 1, 50, "bash", new[] { "-bash" }, "/usr/bin/bash", uid: 1000)));
        Assert.Empty(Take(0));
        _table.Observe(Exit(100, 0));
        Advance(Hold);
        Assert.Equal(1000u, Assert.Single(Take(1)).Facts.Uids![0]);
    }

    [Fact]
    public void EventsOlderThanTheStartUpScanAreIgnoredOnlyForTheProcessesItReported()
    {
        // The start-up scan began at t=5000 ns and found bash (100): it already shows bash's earlier events.
        var scanned = new[] { Sample(100, 1, 50, "bash") };
        _table.IgnoreEarlierEventsOf(scanned, 5000);
        _table.LoadSnapshot(scanned, EventKind.Event, null);
        Assert.Single(Take(1));

        _table.Observe(Exit(100, 0, timestampNs: 4000));
        // 200 ran and ended before the scan, which never saw it: it is still reported, as it ran.
        _table.Observe(Fork(200, 100, Sample(200, 100, 500, "short"), timestampNs: 4999));
        _table.Observe(Exit(200, 0, timestampNs: 4999));
        _table.Observe(Fork(201, 100, Sample(201, 100, 501, "new"), timestampNs: 5001));
        Advance(Hold);

        var reports = Take(2);
        Assert.Equal(ProcessEvents.Fork | ProcessEvents.Exit, reports.Single(r => r.Facts.Pid == 200).Events);
        Assert.Equal(ProcessEvents.Fork, reports.Single(r => r.Facts.Pid == 201).Events);
        Assert.True(_table.TryGet(100, out var bash) && !bash.Exited);
        Assert.Equal(1, Value(_registry, "process.stale_events"));
    }

    private void Advance(TimeSpan by)
    {
        _time.Advance(by);
        _table.Advance();
    }

    private List<ProcessReport> Take(int expected)
    {
        var reports = new List<ProcessReport>();
        while (_table.TryTakeReport(out var report))
        {
            reports.Add(report);
        }

        Assert.Equal(expected, reports.Count);
        return reports;
    }
}
