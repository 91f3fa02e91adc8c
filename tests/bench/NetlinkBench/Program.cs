using System.Runtime.InteropServices;
using System.Text;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Netlink;

// netlink-bench --realtime true|false --events <file> [--receive-buffer <bytes>] [--kernel-filter true|false]
//               [--full-fork-sample true|false]
// Runs NetlinkProcEventSource alone, prints "ready", records every fork/exec/exit observation in memory, and on
// SIGINT/SIGTERM writes them to <file> (one per line: F pid ppid | E pid <args \x1f-joined> \t <exe> | X pid status)
// and the source's metrics to stdout. Matching against the storm happens in process-storm.sh.
var options = new NetlinkSourceOptions();
string? eventsPath = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--realtime": options = options with { Realtime = bool.Parse(args[i + 1]) }; break;
        case "--receive-buffer": options = options with { ReceiveBuffer = int.Parse(args[i + 1]) }; break;
        case "--kernel-filter": options = options with { KernelFilter = bool.Parse(args[i + 1]) }; break;
        case "--full-fork-sample": options = options with { FullSampleOnFork = bool.Parse(args[i + 1]) }; break;
        case "--events": eventsPath = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

if (eventsPath is null)
{
    Console.Error.WriteLine("--events <file> is required");
    return 2;
}

using var stop = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

var metrics = new MetricsRegistry();
using var source = new NetlinkProcEventSource(options, metrics, new Logger(new StderrSink(), "bench"));
source.Start(stop.Token);
Console.WriteLine("ready");
Console.Out.Flush();

// Only what the report needs (not the samples), so the bench's own bookkeeping barely shows in its RSS.
var records = new List<(char Kind, int Pid, int Other, string? Args)>(64 * 1024);
var losses = 0L;
try
{
    // The cancellation check matters under a continuous stream: WaitToReadAsync then never waits.
    while (!stop.IsCancellationRequested && await source.Observations.WaitToReadAsync(stop.Token))
    {
        while (source.Observations.TryRead(out var o))
        {
            if (o.IsLoss)
            {
                losses += o.Lost;
                continue;
            }

            switch (o.Event.Type)
            {
                case ProcEventType.Fork: records.Add(('F', o.Event.Tgid, o.Event.ParentTgid, null)); break;
                case ProcEventType.Exec: records.Add(('E', o.Event.Tgid, 0, Describe(o.Sample))); break;
                case ProcEventType.Exit: records.Add(('X', o.Event.Tgid, (int)o.Event.ExitCode, null)); break;
            }
        }
    }
}
catch (OperationCanceledException)
{
}

using (var writer = new StreamWriter(eventsPath, false, new UTF8Encoding(false)))
{
    foreach (var (kind, pid, other, text) in records)
    {
        if (kind == 'E')
        {
            writer.WriteLine($"E {pid} {text}");
        }
        else
        {
            writer.WriteLine($"{kind} {pid} {other}");
        }
    }
}

Console.WriteLine($"subscription {source.Subscription}");
Console.WriteLine($"realtime {source.IsRealtime}");
Console.WriteLine($"receive_buffer {source.ReceiveBufferBytes}");
Console.WriteLine($"loss_announced {losses}");
Console.WriteLine($"gc_collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}");
Console.WriteLine($"gc_pause_ms {GC.GetTotalPauseDuration().TotalMilliseconds:0.0}");
Console.WriteLine($"gc_allocated_mb {GC.GetTotalAllocatedBytes() / 1048576.0:0.0}");
foreach (var m in metrics.Snapshot())
{
    Console.WriteLine($"{m.Name} {m.Number}");
}

return 0;

// "<args \x1f-joined>\t<exe>", kept only for the storm's /bin/true children (everything else: a placeholder).
static string? Describe(ProcessSample? sample) =>
    sample?.Args is [ "/bin/true", _ ] a ? string.Join('\x1f', a) + "\t" + sample.Executable : "\t";

sealed class StderrSink : LogSink
{
    public override bool IsEnabled(LogLevel level, string selector) => level >= LogLevel.Info;

    public override void Write(LogLevel level, string selector, string message) => Console.Error.WriteLine($"{level} {message}");
}
