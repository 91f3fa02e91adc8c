using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Tracking;

namespace Shipper.Tests.Module.System.Process.Documents;

public class StartTimeClockTests
{
    private static readonly StartTimeClock Clock = new(1_700_000_000L * 1_000_000_000, 100);

    [Fact]
    public void KernelNanosecondsAreAddedToBtimeExactly()
    {
        // quark's kernel_tracing: btime (whole seconds) + start_boottime.
        Assert.Equal((1_700_000_000L * 1_000_000_000) + 12_345_678_901, Clock.ToUnixNanoseconds(1234, 12_345_678_901));
        Assert.Equal((1_700_000_000L * 1_000_000_000) + 12_340_000_000, Clock.ToUnixNanoseconds(1234, 0));
    }

    [Fact]
    public void AProcessFirstKnownFromProcKeepsItsTickStartWhenTheKernelLaterGivesNanoseconds()
    {
        // Its existing_process document and its later ones must share one process.start and entity_id.
        var facts = ProcessFacts.FromSample(new ProcessSample { Pid = 7, State = 'S', StartTimeTicks = 1234 });
        facts.Merge(new ProcessSample { Pid = 7, State = 'R', StartTimeTicks = 1234, StartBootNanoseconds = 12_345_678_901 }, exec: true);
        Assert.Equal(0UL, facts.StartBootNanoseconds);

        var fromKernel = ProcessFacts.FromSample(new ProcessSample { Pid = 8, State = 'R', StartTimeTicks = 1234, StartBootNanoseconds = 12_345_678_901 });
        Assert.Equal(12_345_678_901UL, fromKernel.StartBootNanoseconds);
    }
}
