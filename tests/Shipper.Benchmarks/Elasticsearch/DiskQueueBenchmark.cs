using System.Diagnostics;
using System.Globalization;
using Shipper.Config;
using Shipper.IndexManagement;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Outputs;
using Shipper.Outputs.Elasticsearch;
using Shipper.Publisher;
using Shipper.Publisher.Disk;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;

namespace Shipper.Benchmarks.Elasticsearch;

/// <summary>
/// <c>queue.disk</c> against <c>queue.mem</c>: the output benchmark's process documents from one producer
/// through the real <see cref="Pipeline"/> and <see cref="ElasticsearchOutput"/> (defaults: gzip 1, worker 1,
/// bulk_max_size 1600, two publisher workers as the shipper runs them) into the loopback Elasticsearch in a
/// child process, so the CPU measured (user + sys of this process, GC and the queue's writer and reader
/// loops included) is the shipper's alone. Prints numbers, asserts nothing.
///
/// Run (Release; about 40 s per round on 2 cores):
///   dotnet run -c Release --project tests/Shipper.Benchmarks -- diskqueue
/// Options: --events N (500,000 measured per run), --rounds N (3), --output elasticsearch|encode, --dir DIR (where
/// the queue directory is made; the system temp directory), --only mem|mem-diskbatch|disk (one case, for a
/// profiler), --read-ahead N (queue.disk.read_ahead, which also sets how the disk queue's batches gather), --rate N
/// (publish N events/s instead of as fast as the queue takes them: CPU per event at a load both queues sustain,
/// without the producer and the writer racing the output for the two cores).
///
/// Cases, each on a fresh queue and output, once per round in turn so that drifts in machine load hit all alike
/// (after one unreported run of each, so tiered JIT has settled):
///   mem            queue.mem defaults (events 3200, flush.min_events 1600, flush.timeout 10s)
///   mem-diskbatch  a memory queue batched exactly as the disk queue is (QueueSettings.ForDiskQueue: capacity and
///                  flush.min_events = read_ahead 512, flush.timeout 1s), to tell batching from the disk's own cost
///   disk           queue.disk in a fresh directory: max_size 1GiB, every other setting its default
///                  (segment_size max_size/10, read_ahead 512, write_ahead 2048, fsync.interval 1s, fsync.events 4096)
/// A run publishes 64,000 events to warm up (connections, page cache) and then measures --events more, until
/// the output has acknowledged every one. Columns besides the obvious: evt/batch (events per output batch),
/// fsyncs, blocked (times the producer found the queue full and waited), wakeups/evt (thread-pool work items per
/// event: hand-offs between loops that woke a thread), cs/evt (context switches of all threads per event, voluntary
/// and involuntary), gc0/1/2 (collections), gc pause (share of the run's wall time), load (1-minute load average:
/// other work on the machine inflates CPU per event too). The summary gives medians over the rounds with their
/// range and the disk/mem ratios the issue's targets are about.
/// <c>--output encode</c> replaces Elasticsearch with <see cref="EncodeOnlyOutput"/> to show the queue's own cost
/// without the server's.
/// </summary>
public static class DiskQueueBenchmark
{
    private const int WarmupEvents = 64_000;

    /// <summary>The throughput the disk queue must reach, from the issue.</summary>
    private const double TargetEventsPerSecond = 50_000;

    /// <summary>The most CPU per event the disk queue may cost, relative to the memory queue, from the issue.</summary>
    private const double TargetCpuRatio = 1.5;

    private static readonly string[] AllCases = { "mem", "mem-diskbatch", "disk" };

    public static async Task<int> RunAsync(string[] args)
    {
        var events = 500_000;
        var rounds = 3;
        var output = "elasticsearch";
        var parent = Path.GetTempPath();
        string? only = null;
        int? readAhead = null;
        var rate = 0;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--events" when i + 1 < args.Length:
                    events = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--rounds" when i + 1 < args.Length:
                    rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--output" when i + 1 < args.Length:
                    output = args[++i];
                    break;
                case "--dir" when i + 1 < args.Length:
                    parent = args[++i];
                    break;
                case "--read-ahead" when i + 1 < args.Length:
                    readAhead = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--rate" when i + 1 < args.Length:
                    rate = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--only" when i + 1 < args.Length:
                    only = args[++i];
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]}; usage: diskqueue [--events N] [--rounds N] [--output elasticsearch|encode] [--dir DIR] [--only CASE] [--read-ahead N] [--rate N]");
                    return 2;
            }
        }

        if (output is not ("elasticsearch" or "encode"))
        {
            Console.Error.WriteLine($"--output must be elasticsearch or encode, not {output}");
            return 2;
        }

        if (only is not null && Array.IndexOf(AllCases, only) < 0)
        {
            Console.Error.WriteLine($"--only takes one of {string.Join(", ", AllCases)}, not {only}");
            return 2;
        }

        // --only runs one case (for a profiler); the summary's ratios then have nothing to compare and are skipped.
        var cases = only is null ? AllCases : new[] { only };
        Process? server = null;
        var url = "";
        if (output == "elasticsearch")
        {
            (server, url) = await ElasticsearchBenchmark.StartServerAsync();
        }

        try
        {
            var pool = ElasticsearchBenchmark.Pool();
            Console.WriteLine($"disk queue vs memory queue: {events:N0} process documents per run (+{WarmupEvents:N0} warm-up), {(rate > 0 ? $"published at {rate:N0}/s" : "published as fast as the queue takes them")}, {rounds} rounds, output {(server is null ? "encode-only (no server)" : "loopback Elasticsearch in a child process")}, {Environment.ProcessorCount} cores");
            Console.WriteLine($"documents of {AverageLength(pool):0} bytes of JSON on average; gzip 1, worker 1, bulk_max_size 1600, 2 publisher workers; queue.disk under {parent}; CPU = user+sys of this process only");
            Console.WriteLine();

            // Tiered JIT (with PGO) recompiles hot methods on a background thread for a while: that CPU would
            // land on whichever case runs first, so every case runs once, unreported, before the rounds.
            for (var c = 0; c < cases.Length; c++)
            {
                await RunOneAsync(cases[c], url, server, pool, Math.Min(events, 200_000), parent, readAhead, rate);
            }

            Console.WriteLine($"{"round",5} {"queue",-14} {"events",9} {"seconds",8} {"events/s",9} {"cpu s/10k",10} {"sys s/10k",10} {"alloc B/evt",11} {"server cpu s/10k",16} {"evt/batch",9} {"fsyncs",7} {"blocked",8} {"wakeups/evt",11} {"cs/evt",7} {"gc0/1/2",11} {"gc pause",8} {"load",5}");
            var results = new DiskQueueRun[cases.Length, rounds];
            for (var round = 0; round < rounds; round++)
            {
                for (var c = 0; c < cases.Length; c++)
                {
                    var run = await RunOneAsync(cases[c], url, server, pool, events, parent, readAhead, rate);
                    results[c, round] = run;
                    var runtime = run.Runtime;
                    Console.WriteLine(
                        $"{round + 1,5} {cases[c],-14} {events,9:N0} {run.Seconds,8:0.00} {events / run.Seconds,9:N0} {run.Cpu * 10_000 / events,10:0.0000} {run.SysCpu * 10_000 / events,10:0.0000} {(double)run.Allocated / events,11:0} {(server is null ? "-" : (run.ServerCpu * 10_000 / events).ToString("0.0000", CultureInfo.InvariantCulture)),16} {(double)events / run.Batches,9:0} {(cases[c] == "disk" ? run.Fsyncs.ToString(CultureInfo.InvariantCulture) : "-"),7} {run.Blocked,8} {(double)runtime.WorkItems / events,11:0.000} {(double)runtime.ContextSwitches / events,7:0.000} {$"{runtime.Gen0}/{runtime.Gen1}/{runtime.Gen2}",11} {runtime.GcPause.TotalSeconds / run.Seconds,8:P1} {LoadAverage(),5}");
                }
            }

            if (only is null)
            {
                PrintSummary(results, rounds, events, rate);
            }
        }
        finally
        {
            if (server is not null)
            {
                await ElasticsearchBenchmark.StopServerAsync(server);
                server.Dispose();
            }
        }

        return 0;
    }

    /// <summary>Medians over the rounds (range in brackets), and the disk queue's figures against both memory cases.</summary>
    private static void PrintSummary(DiskQueueRun[,] results, int rounds, int events, int publishRate)
    {
        var cases = AllCases;
        var rate = new double[cases.Length];
        var cpu = new double[cases.Length];
        Console.WriteLine();
        Console.WriteLine($"median of {rounds} rounds (min-max); ratios are disk/mem of the medians");
        Console.WriteLine($"| queue | events | seconds | events/s | CPU s / 10k events | of which sys | alloc B / event | CPU ratio vs mem | events/s ratio vs mem |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var c = 0; c < cases.Length; c++)
        {
            var seconds = new double[rounds];
            var rates = new double[rounds];
            var cpus = new double[rounds];
            var allocs = new double[rounds];
            var syss = new double[rounds];
            for (var r = 0; r < rounds; r++)
            {
                seconds[r] = results[c, r].Seconds;
                rates[r] = events / results[c, r].Seconds;
                cpus[r] = results[c, r].Cpu * 10_000 / events;
                syss[r] = results[c, r].SysCpu * 10_000 / events;
                allocs[r] = (double)results[c, r].Allocated / events;
            }

            rate[c] = Median(rates);
            cpu[c] = Median(cpus);
            Console.WriteLine(
                $"| {cases[c]} | {events:N0} | {Median(seconds):0.00} | {rate[c]:N0} ({Min(rates):N0}-{Max(rates):N0}) | {cpu[c]:0.0000} ({Min(cpus):0.0000}-{Max(cpus):0.0000}) | {Median(syss):0.0000} | {Median(allocs):0} | {cpu[c] / cpu[0]:0.00} | {rate[c] / rate[0]:0.00} |");
        }

        var disk = Array.IndexOf(cases, "disk");
        var sameBatching = Array.IndexOf(cases, "mem-diskbatch");
        Console.WriteLine();
        Console.WriteLine($"disk vs mem with the same batching: CPU per event x{cpu[disk] / cpu[sameBatching]:0.00}, events/s x{rate[disk] / rate[sameBatching]:0.00}");
        Console.WriteLine(publishRate > 0
            ? $"target disk >= {TargetEventsPerSecond:N0} events/s: not measured (published at {publishRate:N0}/s; run without --rate)"
            : $"target disk >= {TargetEventsPerSecond:N0} events/s: {(rate[disk] >= TargetEventsPerSecond ? "met" : "NOT met")} ({rate[disk]:N0})");
        Console.WriteLine($"target disk CPU per event <= {TargetCpuRatio:0.0}x mem: {(cpu[disk] <= TargetCpuRatio * cpu[0] ? "met" : "NOT met")} (x{cpu[disk] / cpu[0]:0.00} vs mem, x{cpu[disk] / cpu[sameBatching]:0.00} vs mem-diskbatch)");
    }

    private static async Task<DiskQueueRun> RunOneAsync(string name, string url, Process? server, Event[] pool, int events, string parent, int? readAhead, int rate)
    {
        var metrics = new MetricsRegistry();
        IOutput output;
        int batchSize;
        if (server is null)
        {
            output = new EncodeOnlyOutput(TestDocuments.Writer);
            batchSize = 1600;
        }
        else
        {
            var section = new ConfigSection(new ConfigMap("output.elasticsearch", SourceLocation.None), new ConfigReadTracker());
            section.Map.Set("hosts", ElasticsearchBenchmark.Scalar("hosts", url));
            var settings = ElasticsearchSettings.Parse(section);
            output = new ElasticsearchOutput(settings, TemplateSettings.Default, TestDocuments.Writer, metrics, Logger.Null, TimeProvider.System);
            batchSize = settings.BulkMaxSize;
        }

        // The shipper runs one more publisher worker than the output has requests in flight (worker 1).
        const int workers = 2;
        DirectoryInfo? directory = null;
        Pipeline pipeline;
        switch (name)
        {
            case "mem":
                pipeline = new Pipeline(new QueueSettings(3200, 1600, TimeSpan.FromSeconds(10)), output, batchSize, workers, metrics, Logger.Null, TimeProvider.System);
                break;
            case "mem-diskbatch":
                var batching = QueueSettings.ForDiskQueue(DiskSettings(Path.Combine(parent, "unused"), readAhead));
                pipeline = new Pipeline(new MemoryQueue(batching, singleReader: false), batching, output, batchSize, workers, metrics, Logger.Null, TimeProvider.System);
                break;
            default:
                directory = Directory.CreateDirectory(Path.Combine(parent, "shipper-diskqueue-bench-" + Guid.NewGuid().ToString("N")), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                var disk = DiskSettings(Path.Combine(directory.FullName, "queue"), readAhead);
                var queue = new DiskQueue(disk, TestDocuments.Writer, metrics, Logger.Null, TimeProvider.System);
                queue.Open();
                pipeline = new Pipeline(queue, QueueSettings.ForDiskQueue(disk), output, batchSize, workers, metrics, Logger.Null, TimeProvider.System);
                break;
        }

        try
        {
            pipeline.Start();
            await ProduceAsync(pipeline, metrics, pool, WarmupEvents, rate);

            var fsyncs = metrics.Counter("queue.disk.fsyncs");
            var fsyncsBefore = fsyncs.Value;
            var batches = metrics.Counter("output.events.batches");
            var batchesBefore = batches.Value;
            var blocked = metrics.Counter("pipeline.queue.blocked");
            var blockedBefore = blocked.Value;
            var self = Process.GetCurrentProcess();
            self.Refresh();
            server?.Refresh();
            var cpuBefore = self.TotalProcessorTime;
            var sysBefore = self.PrivilegedProcessorTime;
            var serverBefore = server?.TotalProcessorTime ?? TimeSpan.Zero;
            var allocBefore = GC.GetTotalAllocatedBytes(precise: true);
            var runtimeBefore = RuntimeCounts.Now();
            var watch = Stopwatch.StartNew();

            await ProduceAsync(pipeline, metrics, pool, events, rate);

            watch.Stop();
            self.Refresh();
            server?.Refresh();
            var cpu = (self.TotalProcessorTime - cpuBefore).TotalSeconds;
            var sys = (self.PrivilegedProcessorTime - sysBefore).TotalSeconds;
            var serverCpu = ((server?.TotalProcessorTime ?? TimeSpan.Zero) - serverBefore).TotalSeconds;
            var alloc = GC.GetTotalAllocatedBytes(precise: true) - allocBefore;
            var runtime = RuntimeCounts.Now() - runtimeBefore;
            var lost = await pipeline.DrainAsync(TimeSpan.FromSeconds(30));
            if (lost != 0 || metrics.Counter("queue.disk.corrupt_records").Value != 0)
            {
                throw new InvalidOperationException($"{name}: {lost} events lost, {metrics.Counter("queue.disk.corrupt_records").Value} corrupt records");
            }

            return new DiskQueueRun(watch.Elapsed.TotalSeconds, cpu, sys, alloc, serverCpu, batches.Value - batchesBefore, fsyncs.Value - fsyncsBefore, blocked.Value - blockedBefore, runtime);
        }
        finally
        {
            await output.DisposeAsync();
            directory?.Delete(recursive: true);
        }
    }

    /// <summary>
    /// queue.disk as the config parser builds it from <c>path</c> and <c>max_size: 1GiB</c>: every other setting its
    /// default, except read_ahead when --read-ahead gives one (it also sets how the disk queue's batches gather).
    /// </summary>
    private static DiskQueueSettings DiskSettings(string path, int? readAhead)
    {
        var section = new ConfigSection(new ConfigMap("queue.disk", SourceLocation.None), new ConfigReadTracker());
        section.Map.Set("path", new ConfigScalar("queue.disk.path", SourceLocation.None, path, false));
        section.Map.Set("max_size", new ConfigScalar("queue.disk.max_size", SourceLocation.None, "1GiB", false));
        if (readAhead is { } events)
        {
            section.Map.Set("read_ahead", new ConfigScalar("queue.disk.read_ahead", SourceLocation.None, events.ToString(CultureInfo.InvariantCulture), false));
        }

        return DiskQueueSettings.Parse(section, Path.GetTempPath());
    }

    /// <summary>
    /// One producer feeding the real publisher, as a dataset does; done when the output has acknowledged them all.
    /// With a <paramref name="rate"/> it publishes on that schedule (in the slices a millisecond timer allows),
    /// otherwise as fast as the queue takes them.
    /// </summary>
    private static async Task ProduceAsync(Pipeline pipeline, MetricsRegistry metrics, Event[] pool, int total, int rate)
    {
        var acked = metrics.Counter("pipeline.queue.acked");
        var target = acked.Value + total;
        var start = Stopwatch.GetTimestamp();
        var published = 0;
        while (published < total)
        {
            if (rate > 0 && published >= Stopwatch.GetElapsedTime(start).TotalSeconds * rate)
            {
                await Task.Delay(1);
                continue;
            }

            await pipeline.PublishAsync(pool[published % pool.Length], CancellationToken.None);
            published++;
        }

        while (acked.Value < target)
        {
            await Task.Delay(1);
        }
    }

    private static double AverageLength(Event[] pool)
    {
        long total = 0;
        for (var i = 0; i < 1000; i++)
        {
            total += TestDocuments.Expected(pool[i]).Length;
        }

        return total / 1000.0;
    }

    /// <summary>The 1-minute load average: other work on the machine shows up here, not in this process's CPU.</summary>
    private static string LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return text[..text.IndexOf(' ', StringComparison.Ordinal)];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static double Min(double[] values)
    {
        var min = double.MaxValue;
        foreach (var v in values)
        {
            min = Math.Min(min, v);
        }

        return min;
    }

    private static double Max(double[] values)
    {
        var max = double.MinValue;
        foreach (var v in values)
        {
            max = Math.Max(max, v);
        }

        return max;
    }
}
