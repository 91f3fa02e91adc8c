using Shipper.Module.Monitoring;

namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// Counts what <see cref="ProcReader"/> could not read, by kind, and zombies (exec events whose process had
/// already exited: an empty cmdline, not an error). Counted, not logged: this runs once per event.
/// </summary>
public sealed class EnrichmentMetrics
{
    public EnrichmentMetrics(MetricsRegistry registry)
    {
        Zombies = registry.Counter("process.enrichment.zombie");
        Cmdline = registry.Counter("process.enrichment.failures.cmdline");
        Exe = registry.Counter("process.enrichment.failures.exe");
        Stat = registry.Counter("process.enrichment.failures.stat");
        Status = registry.Counter("process.enrichment.failures.status");
        Cwd = registry.Counter("process.enrichment.failures.cwd");
        Namespace = registry.Counter("process.enrichment.failures.ns");
    }

    public Counter Zombies { get; }

    public Counter Cmdline { get; }

    public Counter Exe { get; }

    public Counter Stat { get; }

    public Counter Status { get; }

    public Counter Cwd { get; }

    public Counter Namespace { get; }

    public void Count(ProcReadFailures failures)
    {
        if ((failures & ProcReadFailures.AllKinds) == 0)
        {
            return;
        }

        Bump(failures, ProcReadFailures.Cmdline, Cmdline);
        Bump(failures, ProcReadFailures.Exe, Exe);
        Bump(failures, ProcReadFailures.Stat, Stat);
        Bump(failures, ProcReadFailures.Status, Status);
        Bump(failures, ProcReadFailures.Cwd, Cwd);
        Bump(failures, ProcReadFailures.Namespace, Namespace);
    }

    private static void Bump(ProcReadFailures failures, ProcReadFailures kind, Counter counter)
    {
        if ((failures & kind) != 0)
        {
            counter.Increment();
        }
    }
}
