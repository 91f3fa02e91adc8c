using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Netlink;
using Shipper.Module.System.Process.Procfs;
using Shipper.Tests.Module.System.Process.Procfs;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Netlink;

public class NetlinkProcEventSourceTests
{
    [KernelFact]
    public void ReportsForkExecAndExitOfAShortProcessWithItsSample()
    {
        using var source = Open();

        // /bin/true lives for well under a millisecond after exec; even a real-time reader can lose that race
        // on a loaded two-core box (the benchmark measures how often). Every attempt must report fork, exec and
        // exit correctly; the exec sample must be complete in at least one of a few attempts.
        var complete = 0;
        for (var attempt = 0; attempt < 10 && complete == 0; attempt++)
        {
            var marker = "shipper-test-" + Guid.NewGuid().ToString("N");
            using var child = ChildProcess.Start("/bin/true", marker);
            var pid = child.Pid;
            var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == pid));
            var mine = seen.Where(o => o.Event.Tgid == pid).ToList();

            var fork = Assert.Single(mine, o => o.Event.Type == ProcEventType.Fork);
            Assert.Equal(Environment.ProcessId, fork.Event.ParentTgid);
            Assert.True(fork.Sample!.StatOnly);

            var exec = Assert.Single(mine, o => o.Event.Type == ProcEventType.Exec);
            var exit = Assert.Single(mine, o => o.Event.Type == ProcEventType.Exit);
            Assert.Null(exit.Sample);
            Assert.True(WaitStatus.TryGetExitCode(exit.Event.ExitCode, out var code));
            Assert.Equal(0, code);
            Assert.True(fork.Event.TimestampNs <= exec.Event.TimestampNs && exec.Event.TimestampNs <= exit.Event.TimestampNs);

            var sample = exec.Sample!;
            if (sample.Errors is not null)
            {
                // Not exact: /bin/true may exit before the reader gets to /proc (a real race, hence the attempts);
                // then every part missing says so, and a later attempt must find it whole.
                Assert.All(sample.Errors, e => Assert.Contains("process exited", e));
                continue;
            }

            Assert.Equal(new[] { "/bin/true", marker }, sample.Args);
            Assert.Equal("/usr/bin/true", sample.Executable);
            Assert.Equal(Directory.GetCurrentDirectory(), sample.WorkingDirectory);
            Assert.Equal("true", sample.Name);
            Assert.Equal(Environment.ProcessId, sample.ParentPid);
            Assert.Equal(OurUids(), sample.Uids);
            complete++;
        }

        Assert.Equal(1, complete);
    }

    [KernelFact]
    public void HandsEachExecsSampleWithTheExecutedFilesIdentityToTheHookAsItIsRead()
    {
        var hooked = new global::System.Collections.Concurrent.ConcurrentQueue<ProcessSample>();
        var source = new NetlinkProcEventSource(new NetlinkSourceOptions(), new MetricsRegistry(), Logger.Null) { ExecRead = hooked.Enqueue };
        using (source)
        {
            source.Start(CancellationToken.None);
            using var child = ChildProcess.Start("/bin/sleep", "1");
            var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == child.Pid));
            var exec = Assert.Single(seen, o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == child.Pid);

            // The hook saw the very sample the tracker gets, before it was queued, identity included.
            Assert.Contains(exec.Sample, hooked);
            Assert.Equal(0, Shipper.Module.System.Process.Hashing.FileIdentity.Read("/usr/bin/sleep", out var onDisk));
            Assert.Equal(onDisk, exec.Sample!.ExecutableIdentity);
            Assert.DoesNotContain(hooked, s => s.StatOnly);
        }
    }

    [KernelFact]
    public void ReadsTheWholeProcessAtForkWhenAsked()
    {
        using var source = Open(new NetlinkSourceOptions { FullSampleOnFork = true });
        using var child = ChildProcess.Start("/bin/sleep", "1");
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == child.Pid));
        var fork = Assert.Single(seen, o => o.Event.Type == ProcEventType.Fork && o.Event.Tgid == child.Pid);
        Assert.False(fork.Sample!.StatOnly);
        Assert.Null(fork.Sample.Errors);
        Assert.Equal(OurUids(), fork.Sample.Uids);
        Assert.Equal(Directory.GetCurrentDirectory(), fork.Sample.WorkingDirectory);
    }

    /// <summary>Real, effective, saved and filesystem uid of this process (a child inherits them), from <c>status</c>.</summary>
    private static uint[] OurUids() =>
        File.ReadLines("/proc/self/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal))[4..]
            .Split('\t', StringSplitOptions.RemoveEmptyEntries).Select(uint.Parse).ToArray();

    [KernelFact]
    public void DecodesANonZeroExitCode()
    {
        using var source = Open();
        using var child = ChildProcess.Start("/bin/sh", "-c", "exit 3");
        var exit = WaitForExit(source, child.Pid);
        Assert.True(WaitStatus.TryGetExitCode(exit.Event.ExitCode, out var code));
        Assert.Equal(3, code);
        Assert.Equal(17u, exit.Event.ExitSignal); // SIGCHLD to the parent, not a death signal
    }

    [KernelFact]
    public void DecodesTheSignalThatKilledAProcess()
    {
        using var source = Open();
        using var child = ChildProcess.Start("/bin/sleep", "30");
        NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == child.Pid));
        child.Kill();
        var exit = WaitForExit(source, child.Pid);
        Assert.False(WaitStatus.TryGetExitCode(exit.Event.ExitCode, out _));
        Assert.True(WaitStatus.TryGetTerminatingSignal(exit.Event.ExitCode, out var signal));
        Assert.Equal(9, signal);
    }

    [KernelFact]
    public void DropsThreadEventsButKeepsAProcessForkedByAThread()
    {
        var metrics = new MetricsRegistry();
        using var source = Open(metrics: metrics);
        var program = NativeProgram.Build("threads", """
            #include <pthread.h>
            #include <stdio.h>
            #include <sys/syscall.h>
            #include <sys/wait.h>
            #include <unistd.h>
            static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER;
            static void *worker(void *forks) {
                pthread_mutex_lock(&out);
                printf("T %ld\n", (long)syscall(SYS_gettid));
                fflush(stdout);
                pthread_mutex_unlock(&out);
                if (forks) {
                    pid_t child = fork();
                    if (child == 0) _exit(7);
                    waitpid(child, 0, 0);
                    pthread_mutex_lock(&out);
                    printf("C %d %ld\n", (int)child, (long)syscall(SYS_gettid));
                    fflush(stdout);
                    pthread_mutex_unlock(&out);
                }
                return 0;
            }
            int main(void) {
                pthread_t t[4];
                for (int i = 0; i < 4; i++) pthread_create(&t[i], 0, worker, i == 0 ? (void *)1 : 0);
                for (int i = 0; i < 4; i++) pthread_join(t[i], 0);
                return 0;
            }
            """);
        var threadEventsBefore = source.Metrics.ThreadEvents.Value;

        using var child = ChildProcess.Start(program, redirectOutput: true);
        var output = child.Process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var tids = output.Where(l => l.StartsWith('T')).Select(l => int.Parse(l[2..])).ToHashSet();
        var forked = output.Single(l => l.StartsWith('C')).Split(' ');
        var grandchild = int.Parse(forked[1]);
        var forkingThread = int.Parse(forked[2]);

        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == child.Pid));

        Assert.Equal(4, tids.Count);
        // No thread event gets through: a thread's creation or exit would carry pid = its tid, tgid = the program.
        // (Matching on tids alone could hit an unrelated process that reused a tid's number since.)
        Assert.DoesNotContain(seen, o => o.Event.Pid != o.Event.Tgid);
        Assert.Single(seen, o => o.Event.Type == ProcEventType.Fork && o.Event.Tgid == child.Pid);
        var fork = Assert.Single(seen, o => o.Event.Type == ProcEventType.Fork && o.Event.Tgid == grandchild);
        Assert.Equal(child.Pid, fork.Event.ParentTgid);
        Assert.Equal(forkingThread, fork.Event.ParentPid);
        var exit = Assert.Single(seen, o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == grandchild);
        Assert.True(WaitStatus.TryGetExitCode(exit.Event.ExitCode, out var code));
        Assert.Equal(7, code);
        Assert.Single(seen, o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == child.Pid);
        // 4 thread creations + 4 thread exits; not exact: every process's threads count, this test host's among them.
        Assert.True(source.Metrics.ThreadEvents.Value - threadEventsBefore >= 8);
    }

    [KernelFact]
    public void AHostileCommChangeIsReportedAndReadExactly()
    {
        using var source = Open();
        using var child = ChildProcess.Start("/bin/sh", redirectOutput: true, "-c", "printf 'a) (b\\nc' > /proc/self/comm; echo ready; sleep 30; :");
        Assert.Equal("ready", child.ReadLine());
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Comm && o.Event.Tgid == child.Pid));
        var comm = Assert.Single(seen, o => o.Event.Type == ProcEventType.Comm && o.Event.Tgid == child.Pid);
        Assert.Equal("a) (b\nc", comm.Sample!.Name);
        Assert.Equal(Environment.ProcessId, comm.Sample.ParentPid);
    }

    [KernelFact]
    public void ReadsAOneMebibyteCommandLineAndInvalidUtf8AtExec()
    {
        // Above the 1 MiB command line, so it is read whole (the default, 128 KiB, would cut it).
        using var source = Open(new NetlinkSourceOptions { MaxArgsBytes = 2 * 1024 * 1024 });
        var big = new List<string> { "-c", "sleep 0.3; :", "sh" };
        for (var i = 0; i < 16; i++)
        {
            big.Add(new string((char)('a' + i), 64 * 1024));
        }

        using var tree = new FakeProcTree();
        var script = Path.Combine(tree.Root, "run.sh");
        File.WriteAllText(script, "#!/bin/bash\nexec -a $'\\xff\\xfeX' /bin/sleep 0.2\n");

        using var large = ChildProcess.Start("/bin/sh", big.ToArray());
        using var invalid = ChildProcess.Start("/bin/bash", script);
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s =>
            s.Any(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == large.Pid) &&
            s.Count(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == invalid.Pid) == 2);

        var largeExec = Assert.Single(seen, o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == large.Pid);
        Assert.True(largeExec.Sample!.Errors is null, string.Join("; ", largeExec.Sample.Errors ?? []));
        Assert.Equal(big.Count + 1, largeExec.Sample.Args!.Length);
        Assert.Equal(["/bin/sh", .. big], largeExec.Sample!.Args!);
        var sleepExec = seen.Last(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == invalid.Pid);
        Assert.Equal(new[] { "\uFFFD\uFFFDX", "0.2" }, sleepExec.Sample!.Args);
        Assert.Equal("/usr/bin/sleep", sleepExec.Sample.Executable);
    }

    [KernelFact]
    public void IgnoresMessagesFromAnyoneButTheKernel()
    {
        using var source = Open();
        using var forger = NetlinkSocket.Open();
        var forged = ProcConnectorBytes.Exec(999_999_999, 999_999_999, sequence: 1);
        var foreignBefore = source.Metrics.Foreign.Value;

        Assert.Equal(0, forger.SendTo(forged, source.PortId));

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (source.Metrics.Foreign.Value == foreignBefore && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        Assert.Equal(foreignBefore + 1, source.Metrics.Foreign.Value);
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, _ => false, TimeSpan.FromMilliseconds(300));
        Assert.DoesNotContain(seen, o => o.Event.Tgid == 999_999_999);
    }

    [KernelFact]
    public void UsesTheKernelFilterWhereAvailableAndTheClassicListenOtherwise()
    {
        using (var filtered = Open())
        {
            Assert.Equal(ProcConnectorSubscription.Filtered, filtered.Subscription);
            Assert.True(filtered.DefersExits);
            Assert.False(filtered.TracksSequences);
            Assert.True(filtered.ReceiveBufferForced);
            Assert.Equal(2 * NetlinkSourceOptions.DefaultReceiveBuffer, filtered.ReceiveBufferBytes);
        }

        using var classic = Open(new NetlinkSourceOptions { KernelFilter = false });
        Assert.Equal(ProcConnectorSubscription.Classic, classic.Subscription);
        Assert.False(classic.DefersExits); // without the filter a second socket would get every event again
        Assert.True(classic.TracksSequences);
        using var child = ChildProcess.Start("/bin/true");
        WaitForExit(classic, child.Pid);
    }

    [KernelFact]
    public void DefersExitsToTheirOwnSocketAndStillPutsEachAfterItsForkAndExec()
    {
        foreach (var defer in new[] { true, false })
        {
            using var source = Open(new NetlinkSourceOptions { DeferExits = defer });
            Assert.Equal(defer, source.DefersExits);

            // 200 children, each fork + exec + exit within a millisecond or so: the exits wait on the exit socket
            // while the forks and execs of later children arrive; each must still come after its own fork and exec.
            using var loop = ChildProcess.Start("/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done");
            var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == loop.Pid));

            var children = seen.Where(o => o.Event.Type == ProcEventType.Fork && o.Event.ParentTgid == loop.Pid).Select(o => o.Event.Tgid).ToList();
            Assert.True(children.Count == 200, $"defer={defer}: {children.Count} forks seen");
            foreach (var pid in children)
            {
                var order = seen.Select((o, i) => (o, i)).Where(x => x.o.Event.Tgid == pid).Select(x => (x.o.Event.Type, x.i)).ToList();
                Assert.True(order.Select(x => x.Type).SequenceEqual([ProcEventType.Fork, ProcEventType.Exec, ProcEventType.Exit]),
                    $"defer={defer}: pid {pid} came as {string.Join(", ", order.Select(x => x.Type))}");
            }

            // Exits of the loop's children came before the loop's own exit, which came after its fork.
            var loopExit = seen.FindIndex(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == loop.Pid);
            Assert.All(children, pid => Assert.True(seen.FindIndex(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == pid) < loopExit));
            Assert.Equal(0, source.Metrics.Lost.Value);
        }
    }

    [KernelFact]
    public void AChildThatExecsIsReadOnceAndAForkOnlyChildWhenItsForkIsDrained()
    {
        using var source = Open();
        Assert.True(source.DefersForks);

        // A child that execs: its fork carries the stat part of the exec's read (same start time, the new name).
        using var execs = ChildProcess.Start("/bin/sleep", "5");
        // A child that never execs: a subshell counting in a builtin loop for a few seconds while sh waits.
        using var forks = ChildProcess.Start("/bin/sh", "-c", "( i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done ); exit 0");
        var seen = NetlinkTestSupport.CollectUntil(source.Observations,
            s => s.Any(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == execs.Pid)
                 && s.Any(o => o.Event.Type == ProcEventType.Fork && o.Event.ParentTgid == forks.Pid));

        var fork = Assert.Single(seen, o => o.Event.Type == ProcEventType.Fork && o.Event.Tgid == execs.Pid);
        var exec = Assert.Single(seen, o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == execs.Pid);
        Assert.True(seen.IndexOf(fork) < seen.IndexOf(exec));
        Assert.True(fork.Sample!.StatOnly);
        Assert.Equal(exec.Sample!.StartTimeTicks, fork.Sample.StartTimeTicks);
        Assert.Equal(StatStartTicks(execs.Pid), fork.Sample.StartTimeTicks);

        var subshell = Assert.Single(seen, o => o.Event.Type == ProcEventType.Fork && o.Event.ParentTgid == forks.Pid);
        Assert.True(subshell.Sample!.StatOnly);
        Assert.Null(subshell.Sample.Errors);
        Assert.Equal(StatStartTicks(subshell.Event.Tgid), subshell.Sample.StartTimeTicks);
        ChildProcess.KillPid(subshell.Event.Tgid); // killing sh would leave it counting
    }

    [KernelFact]
    public void TheForkTimestampGivesTheStartTickStatShows()
    {
        // What a fork-only child reaped before its stat was read falls back to: the tick of its fork event.
        using var source = Open();
        var clock = global::Shipper.Module.System.Process.Procfs.BootClock.Shared;
        var children = Enumerable.Range(0, 50).Select(_ => ChildProcess.Start("/bin/sleep", "5")).ToList();
        try
        {
            var pids = children.Select(c => c.Pid).ToHashSet();
            var seen = NetlinkTestSupport.CollectUntil(source.Observations,
                s => s.Count(o => o.Event.Type == ProcEventType.Fork && pids.Contains(o.Event.Tgid)) == pids.Count);
            var forks = seen.Where(o => o.Event.Type == ProcEventType.Fork && pids.Contains(o.Event.Tgid)).ToList();
            Assert.Equal(50, forks.Count);

            // The kernel stamps the start and the event a fraction of a microsecond apart in one call: they land in
            // different ticks only if a tick boundary (every 10 ms) falls in between, so allow one in 50.
            var differ = forks.Count(o => clock.StartTimeTicksAt(o.Event.TimestampNs) != StatStartTicks(o.Event.Tgid));
            Assert.True(differ <= 1, $"{differ} of 50 fork timestamps fall in another tick than stat's start time");
        }
        finally
        {
            children.ForEach(c => c.Dispose());
        }
    }

    [KernelFact]
    public void AProcessWhoseMainThreadEndsFirstEndsWithItsLastThread()
    {
        // main calls pthread_exit; another thread calls exit(3) half a second later. The kernel reports the main
        // thread's exit (pid == tgid, code 0) first; the process ends with the other thread's exit.
        using var source = Open();
        using var child = ChildProcess.Start(NativeProgram.MainThreadExitsFirst, redirectOutput: true);
        var leaderExitNs = ulong.Parse(child.ReadLine());
        Assert.True(child.Process.WaitForExit(10_000));
        Assert.Equal(3, child.Process.ExitCode);

        var exit = SingleExit(source, child.Pid);
        Assert.Equal(3u << 8, exit.Event.ExitCode);
        Assert.Equal(child.Pid, exit.Event.Pid);
        Assert.True(exit.Event.TimestampNs >= leaderExitNs + 400_000_000,
            $"the exit is stamped {(long)(exit.Event.TimestampNs - leaderExitNs) / 1_000_000} ms after the main thread's, not at the last thread's");
        Assert.True(source.Metrics.GroupExitsDeferred.Value >= 1);
    }

    [KernelFact]
    public void AProcessThatHadThreadsBeforeTheStartIsKnownToHaveThem()
    {
        // The thread was created before the source listened: only the start-up scan of /proc knows of it.
        using var child = ChildProcess.Start(NativeProgram.MainThreadExitsFirst, redirectOutput: true, "wait");
        Assert.Equal("ready", child.ReadLine());
        using var source = Open();
        child.Process.StandardInput.WriteLine("go");
        child.Process.StandardInput.Flush();
        var leaderExitNs = ulong.Parse(child.ReadLine());
        Assert.True(child.Process.WaitForExit(10_000));

        var exit = SingleExit(source, child.Pid);
        Assert.Equal(3u << 8, exit.Event.ExitCode);
        Assert.True(exit.Event.TimestampNs >= leaderExitNs + 400_000_000);
    }

    [KernelFact]
    public void ASingleThreadedExitIsHandedOnAsItComes()
    {
        using var source = Open();
        using var child = ChildProcess.Start("/bin/sh", "-c", "exit 5");
        Assert.True(child.Process.WaitForExit(10_000));
        var exit = SingleExit(source, child.Pid);
        Assert.Equal(5u << 8, exit.Event.ExitCode);
        Assert.Equal(17u, exit.Event.ExitSignal);
    }

    [KernelFact]
    public void AMainThreadCallingExitWhileThreadsRunEndsTheProcessOnce()
    {
        using var source = Open();
        using var child = ChildProcess.Start(NativeProgram.ExitWhileThreadsRun, redirectOutput: true);
        Assert.Equal("ready", child.ReadLine());
        Assert.True(child.Process.WaitForExit(10_000));
        Assert.Equal(7, child.Process.ExitCode);
        var exit = SingleExit(source, child.Pid);
        Assert.Equal(7u << 8, exit.Event.ExitCode);
    }

    [KernelFact]
    public void AThreadThatExecsDoesNotEndItsProcess()
    {
        // A non-leader thread's execve kills the other threads, the main one included (whose exit the kernel
        // reports with pid == tgid), and the process goes on in the new image under the same pid. With 512 MiB to
        // free, the exec is reported tens of milliseconds after the main thread is released, so a drain of the
        // exit socket falls in between: /proc then shows the one live thread of the exec, not a zombie.
        using var source = Open();
        foreach (var memory in new[] { "0", "512" })
        {
            using var child = ChildProcess.Start(NativeProgram.ThreadExecs, memory);
            Assert.True(child.Process.WaitForExit(10_000));
            Assert.Equal(4, child.Process.ExitCode);

            var exit = SingleExit(source, child.Pid);
            Assert.Equal(4u << 8, exit.Event.ExitCode);
        }
    }

    /// <summary>The one exit reported for a process that has ended (a repeated one would follow within a drain).</summary>
    private static ProcessObservation SingleExit(NetlinkProcEventSource source, int pid)
    {
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == pid));
        seen.AddRange(NetlinkTestSupport.CollectUntil(source.Observations, _ => false, TimeSpan.FromMilliseconds(300)));
        var exits = seen.Where(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == pid).ToList();
        Assert.True(exits.Count == 1, $"{exits.Count} exits of {pid}: {string.Join(", ", exits.Select(o => $"pid {o.Event.Pid} code {o.Event.ExitCode}"))}");
        return exits[0];
    }

    private static ulong StatStartTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return ulong.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[22 - 3]);
    }

    [KernelFact]
    public void ReportsAnExitWhileNothingElseHappens()
    {
        // A lone exit waits on the exit socket for at most a receive timeout, not for the next fork or exec.
        using var source = Open();
        using var child = ChildProcess.Start("/bin/sleep", "30");
        NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == child.Pid));
        child.Kill();
        Assert.Equal(ProcEventType.Exit, WaitForExit(source, child.Pid).Event.Type);
    }

    [KernelFact]
    public void RunsTheReaderThreadAtRealTimePriority()
    {
        using var source = Open(new NetlinkSourceOptions { Realtime = true, RealtimePriority = 10 });
        Assert.True(source.IsRealtime);
        var reader = $"/proc/{Environment.ProcessId}/task/{source.ReaderThreadId}";
        Assert.Equal("netlink-reader", File.ReadAllText(Path.Combine(reader, "comm")).Trim());
        var stat = File.ReadAllText(Path.Combine(reader, "stat"));
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        Assert.Equal("10", fields[40 - 3]); // rt_priority (field 40)
        Assert.Equal("1", fields[41 - 3]); // policy (field 41): SCHED_FIFO

        using var normal = Open(new NetlinkSourceOptions { Realtime = false });
        Assert.False(normal.IsRealtime);
    }

    [KernelFact]
    public void ProbesTheProcConnector()
    {
        Assert.True(ProcessEventSources.CanUseNetlink(out var reason));
        Assert.Equal("the netlink proc connector answered (filtered subscription)", reason);
    }

    [KernelFact]
    public void CountsLossWhenTheSocketOverflowsAndAnnouncesIt()
    {
        foreach (var kernelFilter in new[] { true, false })
        {
            var metrics = new MetricsRegistry();
            using var source = Open(new NetlinkSourceOptions { ReceiveBuffer = 4096, KernelFilter = kernelFilter }, metrics);
            var m = source.Metrics;

            // 900 events (300 x fork, exec, exit) into sockets that hold about ten each, while nobody reads them.
            source.PauseReading();
            var windowStart = BootClock.MonotonicNowNanoseconds();
            using (var burst = ChildProcess.Start("/bin/sh", "-c", "i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done"))
            {
                burst.Process.WaitForExit();
            }

            var windowEnd = BootClock.MonotonicNowNanoseconds();
            source.ResumeReading();

            // Each of the children's 900 events was either queued, so it is reported, or dropped, so it is counted:
            // none may vanish uncounted (as the drops of one of the two sockets would if they were not read). Events
            // of sh itself and of other processes in the window only add to the sum, so it is a bound, not an equation.
            var seen = NetlinkTestSupport.CollectUntil(source.Observations,
                s => InWindow(s) + m.SocketDrops.Value >= 900 && Announced(s) == m.Lost.Value);
            var state = Describe();
            Assert.True(InWindow(seen) + m.SocketDrops.Value >= 900, state);
            Assert.True(m.Overflows.Value > 0, state);
            Assert.Equal(Announced(seen), m.Lost.Value);
            Assert.Equal(m.Lost.Value, metrics.Counter("process.lost").Value);
            AssertLossIsCountedOnce();
            if (kernelFilter)
            {
                Assert.Equal(0, m.SequenceGaps.Value); // with the filter the kernel's numbering has gaps by design
            }
            else
            {
                // A dropped message also leaves a gap in its CPU's sequence, visible when that CPU sends its next
                // message (and only if we had seen a message from that CPU before). Make some traffic; the loss
                // must not be counted twice. Gaps may exceed drops by a message or two: the kernel numbers a message
                // before it allocates it for the listeners, and one it cannot allocate (GFP_NOWAIT, under the burst)
                // reaches no socket, so no socket counts it as dropped.
                var deadline = DateTime.UtcNow.AddSeconds(2);
                while (m.SequenceGaps.Value < m.SocketDrops.Value && DateTime.UtcNow < deadline)
                {
                    using var poke = ChildProcess.Start("/bin/true");
                    seen.AddRange(NetlinkTestSupport.CollectUntil(source.Observations, _ => false, TimeSpan.FromMilliseconds(50)));
                }

                Assert.True(m.SequenceGaps.Value > 0, Describe());
                AssertLossIsCountedOnce();
            }

            // And the source keeps working: a later process is reported. Not necessarily the first one tried: under
            // other load the tiny buffer may overflow again and drop its events (announced as loss).
            var reported = false;
            for (var attempt = 0; attempt < 10 && !reported; attempt++)
            {
                using var after = ChildProcess.Start("/bin/true");
                reported = NetlinkTestSupport.CollectUntil(source.Observations,
                        s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == after.Pid), TimeSpan.FromSeconds(2))
                    .Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == after.Pid);
            }

            Assert.True(reported, Describe());

            int InWindow(List<ProcessObservation> s) =>
                s.Count(o => !o.IsLoss && o.Event.TimestampNs >= windowStart && o.Event.TimestampNs <= windowEnd);

            string Describe() =>
                $"filter={kernelFilter}: in window {InWindow(seen)}, announced {Announced(seen)}, lost {m.Lost.Value}, drops {m.SocketDrops.Value}, " +
                $"overflows {m.Overflows.Value}, gaps {m.SequenceGaps.Value}, queue full {m.QueueFull.Value}";

            // Loss counted once: the larger of drops and gaps (each sees the same lost message), plus what did not fit
            // the queue. Read with the reader paused, between two of its iterations, so the counters agree.
            void AssertLossIsCountedOnce()
            {
                source.PauseReading();
                var (lost, drops, gaps, queueFull) = (m.Lost.Value, m.SocketDrops.Value, m.SequenceGaps.Value, m.QueueFull.Value);
                source.ResumeReading();
                var counters = $"lost {lost}, drops {drops}, gaps {gaps}, queue full {queueFull}";
                Assert.True(queueFull == 0, counters); // 65536 slots for a thousand events
                Assert.True(lost == Math.Max(drops, gaps), counters);
            }
        }
    }

    private static long Announced(List<ProcessObservation> seen) => seen.Where(o => o.IsLoss).Sum(o => o.Lost);

    private static ProcessObservation WaitForExit(NetlinkProcEventSource source, int pid)
    {
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == pid));
        return Assert.Single(seen, o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == pid);
    }

    private static NetlinkProcEventSource Open(NetlinkSourceOptions? options = null, MetricsRegistry? metrics = null)
    {
        var source = new NetlinkProcEventSource(options ?? new NetlinkSourceOptions(), metrics ?? new MetricsRegistry(), Logger.Null);
        source.Start(CancellationToken.None);
        return source;
    }
}
