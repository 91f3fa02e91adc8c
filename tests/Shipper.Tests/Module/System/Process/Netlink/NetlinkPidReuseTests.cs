using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Netlink;
using Shipper.Tests.Module.System.Process.Procfs;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Netlink;

/// <summary>
/// One pid, two processes, within a millisecond or two (see <see cref="NativeProgram.PidReuser"/>): child A exits
/// without exec, child B takes its pid and execs. Each round is short enough that A's fork, A's exit and B's fork
/// usually wait on the deferred socket together until B's exec drains them.
/// </summary>
[Collection(PidReuseCollection.Name)]
public sealed class NetlinkPidReuseTests
{
    private const int Rounds = 5;

    [KernelFact]
    public void AForkOnlyChildNeverTakesTheStatOfTheProcessThatGotItsPidNext()
    {
        using var source = Open(new NetlinkSourceOptions());
        Assert.True(source.DefersForks);
        for (var round = 0; round < Rounds; round++)
        {
            var mine = Reuse(source, out var reuse);
            Assert.Equal([ProcEventType.Fork, ProcEventType.Exit, ProcEventType.Fork, ProcEventType.Exec, ProcEventType.Exit], mine.Select(o => o.Event.Type));

            // A's fork: its own stat, or none (the tracker then takes the start from the fork event), never B's.
            var a = mine[0].Sample!;
            Assert.True(!a.HasStat || (a.StartTimeTicks == reuse.TickA && a.Name != "sleep"),
                $"round {round}: A's fork carries stat of {a.Name} started at tick {a.StartTimeTicks} (A {reuse.TickA}, B {reuse.TickB})");

            // B's fork carries B's own stat (read at its exec or when its fork was drained).
            var b = mine[2].Sample!;
            Assert.True(b.HasStat, $"round {round}: B's fork has no stat: {string.Join("; ", b.Errors ?? [])}");
            Assert.Equal(reuse.TickB, b.StartTimeTicks);
            Assert.Equal("sleep", mine[3].Sample!.Name);
        }
    }

    [KernelFact]
    public void WithFullForkSamplesTheFormerOwnersExitStillComesBeforeTheNextFork()
    {
        // Forks come on the main socket then, exits still on the deferred one: B's fork must not overtake A's exit,
        // or the tracker would take A's exit for B's.
        using var source = Open(new NetlinkSourceOptions { FullSampleOnFork = true });
        Assert.False(source.DefersForks);
        Assert.True(source.DefersExits);
        for (var round = 0; round < Rounds; round++)
        {
            var mine = Reuse(source, out _);
            Assert.True(
                mine.Select(o => o.Event.Type).SequenceEqual([ProcEventType.Fork, ProcEventType.Exit, ProcEventType.Fork, ProcEventType.Exec, ProcEventType.Exit]),
                $"round {round}: the pid's events came as {string.Join(", ", mine.Select(o => o.Event.Type))}");
            Assert.Equal(0u, mine[1].Event.ExitCode);
            Assert.Equal(0u, mine[4].Event.ExitCode);
        }
    }

    private readonly record struct Reused(int Pid, ulong TickA, ulong TickB);

    /// <summary>Runs one round; returns the observations of the reused pid, in the order the source handed them on.</summary>
    private static List<ProcessObservation> Reuse(NetlinkProcEventSource source, out Reused reuse)
    {
        using var reuser = ChildProcess.Start(NativeProgram.PidReuser, redirectOutput: true, "/bin/sleep", "0.05");
        var line = reuser.Process.StandardOutput.ReadLine();
        Assert.True(reuser.Process.WaitForExit(10_000));
        Assert.True(line is not null, $"the pid was never reused (exit code {reuser.Process.ExitCode})");
        var fields = line.Split(' ');
        reuse = new Reused(int.Parse(fields[0]), ulong.Parse(fields[1]), ulong.Parse(fields[2]));
        var pid = reuse.Pid;
        var seen = NetlinkTestSupport.CollectUntil(source.Observations, s => s.Any(o => o.Event.Type == ProcEventType.Exit && o.Event.Tgid == reuser.Pid));
        var mine = seen.Where(o => o.Event.Tgid == pid && !o.IsLoss).ToList();
        Assert.All(mine.Where(o => o.Event.Type == ProcEventType.Fork), o => Assert.Equal(reuser.Pid, o.Event.ParentTgid));
        return mine;
    }

    private static NetlinkProcEventSource Open(NetlinkSourceOptions options)
    {
        var source = new NetlinkProcEventSource(options, new MetricsRegistry(), Logger.Null);
        source.Start(CancellationToken.None);
        return source;
    }
}
