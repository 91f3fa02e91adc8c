using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Ebpf;
using Shipper.Module.System.Process.Hashing;
using Shipper.Module.System.Process.Netlink;
using Shipper.Module.System.Process.Procfs;
using Shipper.Tests.Module.System.Process.Netlink;
using Shipper.Tests.Module.System.Process.Procfs;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Ebpf;

/// <summary>The eBPF source against the real kernel: what the program takes at each fork, exec and exit.</summary>
public class EbpfProcEventSourceTests
{
    [KernelFact]
    public void AOneMillisecondProcessIsCompleteEveryTime()
    {
        using var source = Open();
        using var directory = new TempDirectory();
        var cwd = Path.Combine(directory.Path, "work dir", "deeper");
        Directory.CreateDirectory(cwd);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            // The shell execs /bin/true in the same process: it lives well under a millisecond after that exec.
            var marker = $"shipper-ebpf-{attempt}-{Guid.NewGuid():N}";
            using var child = ChildProcess.Start("/bin/sh", "-c", $"cd '{cwd}' && exec /bin/true {marker} 'two words'");
            var pid = child.Pid;
            var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == pid));
            var mine = seen.Where(o => o.Event.Tgid == pid).ToList();

            var fork = Assert.Single(mine, o => o.Event.Type == ProcEventType.Fork);
            Assert.Equal(Environment.ProcessId, fork.Event.ParentTgid);
            Assert.False(fork.Sample!.StatOnly);
            Assert.Equal(OurIds("Uid:"), fork.Sample.Uids);
            Assert.NotEqual(0UL, fork.Sample.StartBootNanoseconds);

            var exec = mine.Last(o => o.Event.Type == ProcEventType.Exec);
            var sample = exec.Sample!;
            Assert.True(sample.Errors is null, string.Join("; ", sample.Errors ?? []));
            Assert.Equal(new[] { "/bin/true", marker, "two words" }, sample.Args);
            Assert.False(sample.ArgsTruncated);
            Assert.Equal("/usr/bin/true", sample.Executable);
            Assert.Equal(FileIdentity.Of("/usr/bin/true"), sample.ExecutableIdentity);
            Assert.Equal(cwd, sample.WorkingDirectory);
            Assert.Equal("true", sample.Name);
            Assert.Equal(Environment.ProcessId, sample.ParentPid);
            Assert.Equal(OurIds("Uid:"), sample.Uids);
            Assert.Equal(OurIds("Gid:"), sample.Gids);
            Assert.Equal(MountNamespace(Environment.ProcessId), sample.MountNamespace);
            Assert.Equal(fork.Sample.StartBootNanoseconds, sample.StartBootNanoseconds);
            Assert.Equal(sample.StartBootNanoseconds / 10_000_000, sample.StartTimeTicks);
            // Only the container comes from /proc (cgroup), and a process this short may be gone by then: that
            // is not an error (the tracker keeps the container it inherited at the fork).

            var exit = Assert.Single(mine, o => o.Event.Type == ProcEventType.Exit);
            Assert.Null(exit.Sample);
            Assert.True(WaitStatus.TryGetExitCode(exit.Event.ExitCode, out var code));
            Assert.Equal(0, code);
            Assert.True(fork.Event.TimestampNs <= exec.Event.TimestampNs && exec.Event.TimestampNs <= exit.Event.TimestampNs);
        }
    }

    [KernelFact]
    public void TheStartTimeIsTheKernelsToTheNanosecondAndAgreesWithStat()
    {
        using var source = Open();
        using var child = ChildProcess.Start("/bin/sleep", "2");
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == child.Pid));
        var exec = Assert.Single(seen, o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == child.Pid);
        var stat = new ProcReader().ReadStatOnly(child.Pid, out _);
        Assert.Equal(stat.StartTimeTicks, exec.Sample!.StartTimeTicks);
        Assert.NotEqual(0UL, exec.Sample.StartBootNanoseconds % 10_000_000);
    }

    [KernelFact]
    public void ArgumentsOverTheLimitAreCutThereAndFlagged()
    {
        using var source = Open(new EbpfSourceOptions { MaxArgsBytes = 4096 });
        var args = new[] { "-c", "exit 0", "sh", new string('a', 3000), new string('b', 3000) };
        using var child = ChildProcess.Start("/bin/sh", args);
        var exec = SingleExec(source, child.Pid);
        var sample = exec.Sample!;
        Assert.True(sample.ArgsTruncated);
        Assert.Equal(6, sample.ArgsTrueCount);
        Assert.Equal(new[] { "/bin/sh", "-c", "exit 0", "sh", new string('a', 3000) }, sample.Args![..5]);
        Assert.Equal(4096, sample.Args.Sum(a => a.Length + 1) - 1 + (sample.Args.Length == 6 ? 0 : 1));
        Assert.True(source.Metrics.ArgsTruncated.Value >= 1);
    }

    [KernelFact]
    public void ThreadsAreFilteredInTheKernelAndAProcessForkedByAThreadIsKept()
    {
        using var source = Open();
        using var child = ChildProcess.Start(NativeProgram.MainThreadExitsFirst, redirectOutput: true);
        _ = child.ReadLine();
        Assert.True(child.Process.WaitForExit(10_000));
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == child.Pid));
        Assert.DoesNotContain(seen, o => o.Event.Pid != o.Event.Tgid);
        Assert.Single(seen, o => o.Event.Type == ProcEventType.Fork && o.Event.Tgid == child.Pid);
        Assert.Single(seen, o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == child.Pid);
    }

    [KernelFact]
    public void AProcessWhoseMainThreadEndsFirstEndsWithItsLastThreadsRealExit()
    {
        // main calls pthread_exit; another thread calls exit(3) half a second later.
        using var source = Open();
        using var child = ChildProcess.Start(NativeProgram.MainThreadExitsFirst, redirectOutput: true);
        var leaderExitNs = ulong.Parse(child.ReadLine());
        Assert.True(child.Process.WaitForExit(10_000));
        Assert.Equal(3, child.Process.ExitCode);
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == child.Pid));
        var exit = Assert.Single(seen, o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == child.Pid);
        Assert.Equal(3u << 8, exit.Event.ExitCode);
        Assert.True(exit.Event.TimestampNs >= leaderExitNs + 400_000_000);
    }

    [KernelFact]
    public void AnExitBySignalCarriesTheSignal()
    {
        using var source = Open();
        using var child = ChildProcess.Start("/bin/sleep", "30");
        SingleExec(source, child.Pid);
        child.Kill();
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == child.Pid));
        var exit = Assert.Single(seen, o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == child.Pid);
        Assert.True(WaitStatus.TryGetTerminatingSignal(exit.Event.ExitCode, out var signal));
        Assert.Equal(9, signal);
        Assert.Equal(17u, exit.Event.ExitSignal);
    }

    [KernelFact]
    public void AnExecOfADeletedFileOrAMemfdNamesWhatProcShows()
    {
        using var source = Open();
        using var directory = new TempDirectory();
        var copy = Path.Combine(directory.Path, "deleted-sleep");
        File.Copy("/usr/bin/sleep", copy);
        File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var program = NativeProgram.Build("fexecve", """
            #define _GNU_SOURCE
            #include <fcntl.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            #include <sys/mman.h>
            #include <sys/sendfile.h>
            #include <sys/stat.h>
            #include <unistd.h>
            /* argv[1]: "memfd" or a file to unlink before the exec. Runs sleep 1 from it with fexecve. */
            int main(int argc, char **argv) {
                int fd;
                if (strcmp(argv[1], "memfd") == 0) {
                    int src = open("/usr/bin/sleep", O_RDONLY);
                    struct stat st;
                    fstat(src, &st);
                    fd = memfd_create("shipper-test", MFD_CLOEXEC);
                    if (sendfile(fd, src, 0, st.st_size) != st.st_size) return 2;
                } else {
                    fd = open(argv[1], O_RDONLY | O_CLOEXEC);
                    if (fd < 0 || unlink(argv[1]) != 0) return 2;
                }
                char *args[] = { "sleep", "1", 0 };
                char *env[] = { 0 };
                fexecve(fd, args, env);
                return 3;
            }
            """);
        using var deleted = ChildProcess.Start(program, copy);
        using var memfd = ChildProcess.Start(program, "memfd");
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s =>
            s.Count(o => o.Event.Type == ProcEventType.Exec && (o.Event.Tgid == deleted.Pid || o.Event.Tgid == memfd.Pid)) == 4);
        var fromDeleted = seen.Last(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == deleted.Pid).Sample!;
        var fromMemfd = seen.Last(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == memfd.Pid).Sample!;

        Assert.Equal(new[] { "sleep", "1" }, fromDeleted.Args);
        Assert.Equal(copy + " (deleted)", fromDeleted.Executable);
        Assert.Equal(ReadLinkOrNull($"/proc/{deleted.Pid}/exe"), fromDeleted.Executable);
        Assert.Equal(0u, fromDeleted.ExecutableIdentity!.Value.LinkCount);
        Assert.Equal(new FileInfo("/usr/bin/sleep").Length, fromDeleted.ExecutableIdentity.Value.Size);

        Assert.Equal("/memfd:shipper-test (deleted)", fromMemfd.Executable);
        Assert.Equal(ReadLinkOrNull($"/proc/{memfd.Pid}/exe"), fromMemfd.Executable);
        Assert.Equal(new FileInfo("/usr/bin/sleep").Length, fromMemfd.ExecutableIdentity!.Value.Size);
    }

    [KernelFact]
    public void ATinyRingBufferUnderAStormReportsTheLossAndAsksForAResync()
    {
        var metrics = new MetricsRegistry();
        using var source = Open(new EbpfSourceOptions { RingBufferBytes = 4096 }, metrics);
        source.PauseReading();
        var storm = ChildProcess.Start("/bin/sh", "-c", "i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done");
        Assert.True(storm.Process.WaitForExit(30_000));
        source.ResumeReading();

        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.IsLoss));
        var loss = seen.Where(o => o.IsLoss).Sum(o => o.Lost);
        Assert.True(loss > 0);
        Assert.Equal(source.Metrics.RingLost.Value, metrics.Counter("process.lost").Value);
        Assert.True(source.Metrics.RingLost.Value >= 300, $"300 processes' fork, exec and exit into a 4 KiB ring lost only {source.Metrics.RingLost.Value}");

        // After the loss, events flow again.
        using var after = ChildProcess.Start("/bin/true", "after-the-loss");
        var exec = SingleExec(source, after.Pid);
        Assert.Equal(new[] { "/bin/true", "after-the-loss" }, exec.Sample!.Args);
    }

    private static ProcessObservation SingleExec(EbpfProcEventSource source, int pid)
    {
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == pid));
        return Assert.Single(seen, o => o.Event.Type == ProcEventType.Exec && o.Event.Tgid == pid);
    }

    internal static EbpfProcEventSource Open(EbpfSourceOptions? options = null, MetricsRegistry? metrics = null)
    {
        var source = new EbpfProcEventSource(options ?? new EbpfSourceOptions(), metrics ?? new MetricsRegistry(), Logger.Null);
        source.Start(CancellationToken.None);
        return source;
    }

    private static uint[] OurIds(string key) =>
        File.ReadLines("/proc/self/status").Single(l => l.StartsWith(key, StringComparison.Ordinal))[4..]
            .Split('\t', StringSplitOptions.RemoveEmptyEntries).Select(uint.Parse).ToArray();

    private static ulong MountNamespace(int pid)
    {
        var link = new FileInfo($"/proc/{pid}/ns/mnt").LinkTarget!; // "mnt:[4026531841]"
        return ulong.Parse(link[5..^1]);
    }

    private static string? ReadLinkOrNull(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
