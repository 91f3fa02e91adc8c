using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Documents;

namespace Shipper.Benchmarks.ProcessStorm;

/// <summary>
/// Runs the system/process dataset (netlink backend, JSON-encoding every document like an output would) while
/// the storm generator spawns COUNT short /bin/true processes, then prints one result line:
/// processes and kernel events captured, lost, exec documents with the full command line and executable,
/// CPU seconds per 1,000 processes and peak RSS.
/// Usage: ProcessStorm STORM_BINARY COUNT REALTIME(true|false) LABEL
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 4)
        {
            Console.Error.WriteLine("usage: ProcessStorm STORM_BINARY COUNT REALTIME LABEL");
            return 2;
        }

        var storm = args[0];
        var count = int.Parse(args[1], CultureInfo.InvariantCulture);
        var realtime = args[2];
        var label = args[3];
        var marker = "storm" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

        var metrics = new MetricsRegistry();
        var reporter = new CountingReporter();
        var dataset = new ProcessDataset(new DatasetContext
        {
            Config = Config(realtime),
            Metrics = metrics,
            Log = new Logger(new StderrSink(), "process"),
            Time = TimeProvider.System,
            HostId = "benchmark-host",
            DataPath = Path.GetTempPath(),
        });
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => dataset.RunAsync(reporter, stop.Token));
        while (!reporter.SawSnapshotOf(Environment.ProcessId))
        {
            if (run.IsCompleted)
            {
                await run;
            }

            await Task.Delay(10);
        }

        var self = Process.GetCurrentProcess();
        self.Refresh();
        var cpuBefore = self.TotalProcessorTime;
        var pidFile = Path.Combine(Path.GetTempPath(), marker + ".pids");
        using (var generator = Process.Start(new ProcessStartInfo(storm) { ArgumentList = { count.ToString(CultureInfo.InvariantCulture), marker, pidFile } })!)
        {
            await generator.WaitForExitAsync();
        }

        // Let the last holds end and the pipeline drain: stop when nothing new came for two seconds.
        var seen = -1L;
        while (seen != reporter.Documents)
        {
            seen = reporter.Documents;
            await Task.Delay(2000);
        }

        self.Refresh();
        var cpu = (self.TotalProcessorTime - cpuBefore).TotalSeconds;
        stop.Cancel();
        await run;

        var pids = new HashSet<int>(File.ReadLines(pidFile).Select(l => int.Parse(l, CultureInfo.InvariantCulture)));
        File.Delete(pidFile);
        var processes = new HashSet<int>();
        long events = 0, execs = 0, fullExecs = 0;
        foreach (var doc in reporter.Collected)
        {
            if (!pids.Contains(doc.Pid))
            {
                continue;
            }

            processes.Add(doc.Pid);
            events += doc.Events;
            if (doc.Exec)
            {
                execs++;
                if (doc.Executable == "/usr/bin/true" && doc.Args is [ "/bin/true", var arg ] && arg.StartsWith(marker + "-", StringComparison.Ordinal))
                {
                    fullExecs++;
                }
            }
        }

        var lost = metrics.Snapshot().First(m => m.Name == "process.lost").Number;
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {label} | {processes.Count}/{count} | {events}/{3L * count} | {lost} | {100.0 * fullExecs / count:0.0} % ({fullExecs}/{execs}) | {cpu * 1000 / count:0.000} | {PeakRssMiB():0.0} MiB |"));
        return 0;
    }

    private static double PeakRssMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return 0;
    }

    private static ConfigSection Config(string realtime)
    {
        var root = new ConfigMap("system", SourceLocation.None);
        var process = new ConfigMap("system.process", SourceLocation.None);
        process.Set("backend", new ConfigScalar("system.process.backend", SourceLocation.None, "netlink", false));
        var netlink = new ConfigMap("system.process.netlink", SourceLocation.None);
        netlink.Set("realtime", new ConfigScalar("system.process.netlink.realtime", SourceLocation.None, realtime, false));
        process.Set("netlink", netlink);
        root.Set("process", process);
        return new ConfigSection(root, new ConfigReadTracker());
    }

    private sealed record Seen(int Pid, int Events, bool Exec, string? Executable, string[]? Args);

    /// <summary>Encodes every document to JSON (the work an output does) and keeps what the analysis needs.</summary>
    private sealed class CountingReporter : IEventReporter
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
        private readonly Utf8JsonWriter _writer;
        private readonly ConcurrentDictionary<int, bool> _snapshots = new();
        private long _documents;

        public CountingReporter() => _writer = new Utf8JsonWriter(_buffer);

        public ConcurrentQueue<Seen> Collected { get; } = new();

        public long Documents => Interlocked.Read(ref _documents);

        public bool SawSnapshotOf(int pid) => _snapshots.ContainsKey(pid);

        public ValueTask PublishAsync(Event evt, CancellationToken cancellationToken)
        {
            _buffer.ResetWrittenCount();
            _writer.Reset(_buffer);
            _writer.WriteStartObject();
            evt.Body.WriteFields(_writer);
            _writer.WriteEndObject();
            _writer.Flush();

            var doc = (ProcessDocument)evt.Body;
            if (evt.Action == "existing_process")
            {
                _snapshots[doc.Pid] = true;
            }
            else
            {
                var exec = false;
                foreach (var type in evt.Types)
                {
                    exec |= type == "change";
                }

                Collected.Enqueue(new Seen(doc.Pid, evt.Types.Count, exec, doc.Executable, doc.Args));
            }

            Interlocked.Increment(ref _documents);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class StderrSink : LogSink
    {
        public override bool IsEnabled(LogLevel level, string selector) => level >= LogLevel.Warning;

        public override void Write(LogLevel level, string selector, string message) => Console.Error.WriteLine($"{level}: {message}");
    }
}
