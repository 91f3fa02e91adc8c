using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Netlink;
using Shipper.Tests.Module.System.Process.Procfs;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Netlink;

public class NetlinkProcEventSourceTests
{
    [KernelFact]
    public void ReportsForkExecAndExitOfAShortProcessWithItsSample()
    {
        using var source = Open();
        var marker = "shipper-test-" + Guid.NewGuid().ToString("N");

        using var child = ChildProcess.Start("/bin/true", marker);
        var pid = child.Pid;
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == pid));
        var mine = seen.Where(o => o.Event.Tgid == pid).ToList();

        var fork = Assert.Single(mine, o => o.Event.Type == ProcEventType.Fork);
        Assert.Equal(Environment.ProcessId, fork.Event.ParentTgid);
        Assert.NotNull(fork.Sample);

        var exec = Assert.Single(mine, o => o.Event.Type == ProcEventType.Exec);
        var sample = exec.Sample!;
        Assert.Equal(new[] { "/bin/true", marker }, sample.Args);
        Assert.Equal("/usr/bin/true", sample.Executable);
        Assert.Equal(Directory.GetCurrentDirectory(), sample.WorkingDirectory);
        Assert.Equal("true", sample.Name);
        Assert.Equal(Environment.ProcessId, sample.ParentPid);
        Assert.Null(sample.Errors);

        var exit = Assert.Single(mine, o => o.Event.Type == ProcEventType.Exit);
        Assert.Null(exit.Sample);
        Assert.True(WaitStatus.TryGetExitCode(exit.Event.ExitCode, out var code));
        Assert.Equal(0, code);
        Assert.True(fork.Event.TimestampNs <= exec.Event.TimestampNs && exec.Event.TimestampNs <= exit.Event.TimestampNs);
    }

    private static NetlinkProcEventSource Open(NetlinkSourceOptions? options = null, MetricsRegistry? metrics = null)
    {
        var source = new NetlinkProcEventSource(options ?? new NetlinkSourceOptions(), metrics ?? new MetricsRegistry(), Logger.Null);
        source.Start(CancellationToken.None);
        return source;
    }
}
