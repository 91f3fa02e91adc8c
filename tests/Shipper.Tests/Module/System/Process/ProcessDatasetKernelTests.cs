using global::System.Collections.Concurrent;
using global::System.Diagnostics;
using global::System.Text.Json;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Hashing;
using Shipper.Module.System.Process.Netlink;
using Shipper.Tests.Module.System.Process.Procfs;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process;

/// <summary>
/// The whole dataset against the real kernel: the test spawns processes it controls and asserts the exact
/// documents a real reporter receives.
/// </summary>
public sealed class ProcessDatasetKernelTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [KernelFact]
    public async Task ShortTrueIsOneProcessRanWithEverything()
    {
        await using var run = await DatasetRun.StartAsync("netlink");
        var cwd = Directory.CreateTempSubdirectory("shipper-cwd-").FullName;
        try
        {
            // A /bin/true exits within microseconds: its command line is read on the reader thread right at the
            // exec, which loses the race now and then (FACTS §10). Try a few times; the first complete capture counts.
            JsonElement? complete = null;
            for (var attempt = 0; attempt < 5 && complete is null; attempt++)
            {
                var marker = Marker();
                var pid = RunToEnd("/bin/true", cwd, marker);
                var document = await run.WaitFor(d => Pid(d) == pid && Action(d) == "process_ran");
                if (document.GetProperty("process").TryGetProperty("args", out _))
                {
                    complete = document;
                    var process = document.GetProperty("process");
                    Assert.Equal(new[] { "/bin/true", marker }, Strings(process.GetProperty("args")));
                    Assert.Equal(2, process.GetProperty("args_count").GetInt32());
                }
            }

            Assert.NotNull(complete);
            var doc = complete.Value;
            var p = doc.GetProperty("process");
            Assert.Equal(new[] { "start", "change", "end" }, Strings(doc.GetProperty("event.type")));
            Assert.Equal("process_ran", Action(doc));
            Assert.Equal("/usr/bin/true", p.GetProperty("executable").GetString());
            Assert.Matches("^[0-9a-f]{40}$", p.GetProperty("hash").GetProperty("sha1").GetString());
            Assert.Equal("true", p.GetProperty("name").GetString());
            Assert.Equal(cwd, p.GetProperty("working_directory").GetString());
            Assert.Equal(0, p.GetProperty("exit_code").GetInt32());
            Assert.False(p.TryGetProperty("exit_signal", out _));
            Assert.Equal(Environment.ProcessId, p.GetProperty("parent").GetProperty("pid").GetInt32());
            Assert.Equal(16, p.GetProperty("entity_id").GetString()!.Length);
            Assert.True(p.TryGetProperty("start", out _));
            Assert.True(p.TryGetProperty("end", out _));
            Assert.Equal("0", doc.GetProperty("user").GetProperty("id").GetString());
            Assert.Equal("root", doc.GetProperty("user").GetProperty("name").GetString());
            Assert.Equal($"Process true (PID: {Pid(doc)}) by user root RAN", doc.GetProperty("message").GetString());
        }
        finally
        {
            Directory.Delete(cwd, recursive: true);
        }
    }

    [KernelFact]
    public async Task KilledSleeperStopsWithTheSignal()
    {
        await using var run = await DatasetRun.StartAsync("netlink");
        using var sleeper = Spawn("/bin/sleep", "/", "30");
        var started = await run.WaitFor(d => Pid(d) == sleeper.Id && Action(d) == "process_started");
        Assert.Equal(new[] { "start", "change" }, Strings(started.GetProperty("event.type")));
        Assert.Equal(new[] { "/bin/sleep", "30" }, Strings(started.GetProperty("process").GetProperty("args")));

        sleeper.Kill();
        await sleeper.WaitForExitAsync();
        var stopped = await run.WaitFor(d => Pid(d) == sleeper.Id && Action(d) == "process_stopped");
        var process = stopped.GetProperty("process");
        Assert.Equal(new[] { "end" }, Strings(stopped.GetProperty("event.type")));
        Assert.Equal(0, process.GetProperty("exit_code").GetInt32());
        Assert.Equal(9, process.GetProperty("exit_signal").GetInt32());
        Assert.Equal(EntityId(started), EntityId(stopped));
        Assert.Equal("/usr/bin/sleep", process.GetProperty("executable").GetString());
    }

    [KernelFact]
    public async Task TwoExecsOfOneProcessAreTwoDocumentsWithOneEntityId()
    {
        // A full 1 s hold: the second exec (0.2 s in) must end the first fold, not the clock.
        await using var run = await DatasetRun.StartAsync("netlink", holdTime: "1s");
        var marker = Marker();
        var pid = RunToEnd("/bin/sh", "/", "-c", "/bin/sleep 0.2; exec /bin/sleep 0.05", marker);

        var first = await run.WaitFor(d => Pid(d) == pid && Action(d) == "process_started");
        Assert.Equal(new[] { "start", "change" }, Strings(first.GetProperty("event.type")));
        Assert.Equal("/usr/bin/dash", first.GetProperty("process").GetProperty("executable").GetString());
        Assert.Equal(new[] { "/bin/sh", "-c", "/bin/sleep 0.2; exec /bin/sleep 0.05", marker }, Strings(first.GetProperty("process").GetProperty("args")));

        var second = await run.WaitFor(d => Pid(d) == pid && Action(d) == "process_stopped");
        Assert.Equal(new[] { "change", "end" }, Strings(second.GetProperty("event.type")));
        Assert.Equal("/usr/bin/sleep", second.GetProperty("process").GetProperty("executable").GetString());
        Assert.Equal(new[] { "/bin/sleep", "0.05" }, Strings(second.GetProperty("process").GetProperty("args")));
        Assert.Equal(0, second.GetProperty("process").GetProperty("exit_code").GetInt32());
        Assert.Equal(EntityId(first), EntityId(second));
        Assert.Equal(2, run.Documents(d => Pid(d) == pid).Count);
    }

    [KernelFact]
    public async Task ChildExitingThreeReportsExitCodeThree()
    {
        await using var run = await DatasetRun.StartAsync("netlink");
        var marker = Marker();
        var pid = RunToEnd("/bin/sh", "/", "-c", "exit 3", marker);
        var document = await run.WaitFor(d => Pid(d) == pid && Action(d) == "process_ran");
        Assert.Equal(3, document.GetProperty("process").GetProperty("exit_code").GetInt32());
        Assert.Equal(new[] { "start", "change", "end" }, Strings(document.GetProperty("event.type")));
    }

    [KernelFact]
    public async Task AProcessWhoseMainThreadEndsFirstStopsWithItsLastThread()
    {
        // main calls pthread_exit, another thread exit(3) half a second later: one stop, with code 3, at the end.
        await using var run = await DatasetRun.StartAsync("netlink");
        using var child = ChildProcess.Start(NativeProgram.MainThreadExitsFirst, redirectOutput: true);
        child.ReadLine();
        await child.Process.WaitForExitAsync().WaitAsync(Wait);

        var stopped = await run.WaitFor(d => Pid(d) == child.Pid && Strings(d.GetProperty("event.type")).Contains("end"));
        var process = stopped.GetProperty("process");
        Assert.Equal(3, process.GetProperty("exit_code").GetInt32());
        var start = DateTime.Parse(process.GetProperty("start").GetString()!, null, global::System.Globalization.DateTimeStyles.RoundtripKind);
        var end = DateTime.Parse(process.GetProperty("end").GetString()!, null, global::System.Globalization.DateTimeStyles.RoundtripKind);
        Assert.True(end - start >= TimeSpan.FromMilliseconds(400), $"process.end is {(end - start).TotalMilliseconds:0} ms after process.start");

        await Task.Delay(300);
        Assert.Single(run.Documents(d => Pid(d) == child.Pid && Strings(d.GetProperty("event.type")).Contains("end")));
    }

    [KernelFact]
    public async Task SnapshotReportsOurOwnProcessAsExisting()
    {
        await using var run = await DatasetRun.StartAsync("netlink");
        var self = await run.WaitFor(d => Pid(d) == Environment.ProcessId && Action(d) == "existing_process");
        Assert.Equal(new[] { "info" }, Strings(self.GetProperty("event.type")));
        Assert.Equal("event", self.GetProperty("event.kind").GetString());
        Assert.Empty(run.Documents(d => Pid(d) == 2 || ParentPid(d) == 2));
        Assert.Equal("netlink", run.Metric("process.backend"));
    }

    [KernelFact]
    public async Task LostEventsAreCountedAndTheTableIsResynchronised()
    {
        NetlinkProcEventSource? netlink = null;
        await using var run = await DatasetRun.StartAsync("netlink", receiveBuffer: "64 KiB", sourceStarted: s => netlink = (NetlinkProcEventSource)s);
        Assert.NotNull(netlink);

        // With the reader paused, a burst overflows the small socket buffer: most of its events are lost.
        netlink!.PauseReading();
        using var sleeper = Spawn("/bin/sleep", "/", "30");
        var burst = new List<int>();
        for (var i = 0; i < 300; i++)
        {
            burst.Add(RunToEnd("/bin/true", "/"));
        }

        netlink.ResumeReading();
        await run.WaitForMetric(r => r.Count("process.lost") > 0 && r.Count("process.resyncs") > 0);

        // The sleeper started while its events were being lost: it is known all the same (from its fork if that
        // survived, else from the resync), and its exit is reported with the signal.
        await run.WaitFor(d => Pid(d) == sleeper.Id && Action(d) == "process_started");
        sleeper.Kill();
        await sleeper.WaitForExitAsync();
        var stopped = await run.WaitFor(d => Pid(d) == sleeper.Id && Action(d) == "process_stopped");
        Assert.Equal(9, stopped.GetProperty("process").GetProperty("exit_signal").GetInt32());

        // Afterwards no process of the burst is believed alive.
        await run.StopAsync();
        var table = run.Dataset!.LastTable!;
        foreach (var pid in burst)
        {
            // (A live entry is right only if the pid was reused by a process that runs now.)
            if (table.TryGet(pid, out var entry) && !entry.Exited)
            {
                Assert.True(Directory.Exists($"/proc/{pid}"), $"pid {pid} of the burst is still tracked as running");
            }
        }
    }

    [KernelFact]
    public async Task ProcfsBackendSeesWhatLivesAcrossAPoll()
    {
        await using var run = await DatasetRun.StartAsync("procfs");
        Assert.Equal("procfs", run.Metric("process.backend"));
        // Awaited, not blocked on: a blocked pool thread on a busy 2-core runner can starve the tracker's
        // hold timer, and the poll's fork and exit would then fold. The process lives for many hold windows.
        int pid;
        using (var sleeper = Spawn("/bin/sleep", "/", "1.5"))
        {
            pid = sleeper.Id;
            await sleeper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        var started = await run.WaitFor(d => Pid(d) == pid && Action(d) == "process_started");
        var process = started.GetProperty("process");
        Assert.Equal(new[] { "start" }, Strings(started.GetProperty("event.type")));
        Assert.Equal(new[] { "/bin/sleep", "1.5" }, Strings(process.GetProperty("args")));
        Assert.Equal("/usr/bin/sleep", process.GetProperty("executable").GetString());
        Assert.Equal(Environment.ProcessId, process.GetProperty("parent").GetProperty("pid").GetInt32());
        Assert.Equal("root", started.GetProperty("user").GetProperty("name").GetString());

        // A poller cannot know exit codes: the stopped document has none.
        var stopped = await run.WaitFor(d => Pid(d) == pid && Action(d) == "process_stopped");
        Assert.Equal(new[] { "end" }, Strings(stopped.GetProperty("event.type")));
        Assert.False(stopped.GetProperty("process").TryGetProperty("exit_code", out _));
        Assert.Equal(EntityId(started), EntityId(stopped));
        Assert.Equal(2, run.Documents(d => Pid(d) == pid).Count);
    }

    [KernelFact]
    public async Task AutoChoosesEbpfWhenItLoadsAndSaysWhy()
    {
        var log = new CollectingLog();
        await using var run = await DatasetRun.StartAsync("auto", log: log);
        Assert.Equal("ebpf", run.Metric("process.backend"));
        Assert.Contains(log.Lines, l => l.Contains("backend auto chose ebpf: the BPF program loaded and attached", StringComparison.Ordinal));
    }

    [KernelFact]
    public async Task AutoFallsBackToNetlinkWhenBpfIsRefusedAndSaysWhy()
    {
        // A program the verifier refuses stands in for any refusal; the log names the backend and the verifier's reason.
        var refused = Ebpf.EbpfProgramTests.RefusedByTheVerifier();
        var log = new CollectingLog();
        await using var run = await DatasetRun.StartAsync("auto", log: log, ebpfObject: refused);
        Assert.Equal("netlink", run.Metric("process.backend"));
        var line = Assert.Single(log.Lines, l => l.Contains("backend auto chose netlink", StringComparison.Ordinal));
        Assert.Contains("because ebpf is not usable: the kernel refused the eBPF program", line);
        Assert.Contains("map_value_or_null", line);
    }

    [KernelFact]
    public async Task EbpfDocumentsHaveNanosecondStartsAndTheKernelTracingEntityId()
    {
        await using var run = await DatasetRun.StartAsync("ebpf");
        Assert.Equal("ebpf", run.Metric("process.backend"));
        var cwd = Directory.CreateTempSubdirectory("shipper-cwd-").FullName;
        try
        {
            var marker = Marker();
            var pid = RunToEnd("/bin/true", cwd, marker);
            var document = await run.WaitFor(d => Pid(d) == pid && Action(d) == "process_ran");
            var p = document.GetProperty("process");
            Assert.Equal(new[] { "/bin/true", marker }, Strings(p.GetProperty("args")));
            Assert.Equal("/usr/bin/true", p.GetProperty("executable").GetString());
            Assert.Equal(cwd, p.GetProperty("working_directory").GetString());
            Assert.Matches("^[0-9a-f]{40}$", p.GetProperty("hash").GetProperty("sha1").GetString());
            Assert.Equal(0, p.GetProperty("exit_code").GetInt32());

            // process.start is btime (whole seconds, as quark reads it) + the task's start_boottime, to the ns.
            var start = p.GetProperty("start").GetString()!;
            Assert.Matches(@"\.\d{9}Z$", start);
            var startNs = StartUnixNanoseconds(start);
            Assert.NotEqual(0, startNs % 10_000_000);
            Assert.Equal(new EntityId("shipper-test-host").Compute(pid, startNs), EntityId(document));
        }
        finally
        {
            Directory.Delete(cwd, recursive: true);
        }
    }

    [KernelFact]
    public async Task EbpfRingBufferLossIsCountedAndTheTableIsResynchronised()
    {
        Shipper.Module.System.Process.Ebpf.EbpfProcEventSource? ebpf = null;
        await using var run = await DatasetRun.StartAsync("ebpf", ringBuffer: "4 KiB", sourceStarted: s => ebpf = (Shipper.Module.System.Process.Ebpf.EbpfProcEventSource)s);
        ebpf!.PauseReading();
        using var sleeper = Spawn("/bin/sleep", "/", "30");
        for (var i = 0; i < 300; i++)
        {
            RunToEnd("/bin/true", "/");
        }

        ebpf.ResumeReading();
        await run.WaitForMetric(r => r.Count("process.lost") > 0 && r.Count("process.resyncs") > 0);
        Assert.Equal(run.Count("process.ebpf.ring_lost"), run.Count("process.lost"));

        // The sleeper is known all the same (from the resync if its events were lost), and its end is reported.
        await run.WaitFor(d => Pid(d) == sleeper.Id && (Action(d) == "process_started" || Action(d) == "existing_process"));
        sleeper.Kill();
        await sleeper.WaitForExitAsync();
        var stopped = await run.WaitFor(d => Pid(d) == sleeper.Id && Action(d) == "process_stopped");
        Assert.Equal(9, stopped.GetProperty("process").GetProperty("exit_signal").GetInt32());
    }

    private static long StartUnixNanoseconds(string iso)
    {
        var seconds = DateTimeOffset.Parse(iso[..19] + "Z", global::System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds();
        return (seconds * 1_000_000_000) + long.Parse(iso[20..29], global::System.Globalization.CultureInfo.InvariantCulture);
    }

    internal sealed class CollectingLog : LogSink
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public override bool IsEnabled(LogLevel level, string selector) => true;

        public override void Write(LogLevel level, string selector, string message) => Lines.Enqueue(message);
    }

    /// <summary>
    /// <c>process.max_args_bytes</c> against the real kernel and /proc: a process started with a 1.06 MiB command
    /// line is documented with its first 64 KiB, the tag <c>process_args_truncated</c> after the configured tags,
    /// and <c>process.args_count</c> 21, the true count, in the document the real writer produces.
    /// </summary>
    [KernelFact]
    public async Task AMoreThanOneMegabyteCommandLineIsDocumentedCutTaggedAndWithItsTrueCount()
    {
        await using var run = await DatasetRun.StartAsync("netlink", maxArgsBytes: "64 KiB");
        var args = new List<string> { "-c", "sleep 30; :", Marker() };
        for (var i = 0; i < 17; i++)
        {
            args.Add(new string((char)('a' + i), 64 * 1024));
        }

        using var shell = Spawn("/bin/sh", "/", args.ToArray());
        try
        {
            await run.WaitFor(d => Pid(d) == shell.Id && d.GetProperty("process").TryGetProperty("executable", out var exe) && exe.GetString() == "/usr/bin/dash");
            var evt = run.Events(e => e.Body is ProcessDocument { Executable: "/usr/bin/dash" } p && p.Pid == shell.Id)[0];
            var writer = new Shipper.Events.DocumentWriter(
                new Shipper.Events.AgentInfo { Name = "test", Version = "0", Id = "a", EphemeralId = "b" },
                Shipper.Events.HostInfo.Read(),
                ["configured"],
                null,
                false);
            var buffer = new global::System.Buffers.ArrayBufferWriter<byte>();
            using (var json = new Utf8JsonWriter(buffer))
            {
                writer.Write(json, evt);
            }

            using var document = JsonDocument.Parse(buffer.WrittenMemory);
            var root = document.RootElement;
            var process = root.GetProperty("process");
            Assert.Equal(new[] { "configured", "process_args_truncated" }, Strings(root.GetProperty("tags")));
            Assert.Equal(21, process.GetProperty("args_count").GetInt32());
            var kept = Strings(process.GetProperty("args"));
            Assert.Equal(["/bin/sh", "-c", "sleep 30; :", args[2]], kept[..4]);
            Assert.Equal(new string('a', kept[4].Length), kept[4]);
            Assert.InRange(kept.Sum(a => a.Length + 1), 64 * 1024, 64 * 1024 + 1);
        }
        finally
        {
            shell.Kill(entireProcessTree: true);
        }
    }

    internal static string Marker() => "shipper-test-" + Guid.NewGuid().ToString("N")[..12];

    internal static int RunToEnd(string file, string cwd, params string[] args)
    {
        using var process = Spawn(file, cwd, args);
        Assert.True(process.WaitForExit(10_000), $"{file} did not exit");
        return process.Id;
    }

    internal static global::System.Diagnostics.Process Spawn(string file, string cwd, params string[] args)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = cwd, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return global::System.Diagnostics.Process.Start(info)!;
    }

    internal static int Pid(JsonElement d) => d.GetProperty("process").GetProperty("pid").GetInt32();

    internal static int ParentPid(JsonElement d) =>
        d.GetProperty("process").TryGetProperty("parent", out var parent) ? parent.GetProperty("pid").GetInt32() : 0;

    internal static string Action(JsonElement d) => d.GetProperty("event.action").GetString()!;

    internal static string? EntityId(JsonElement d) => d.GetProperty("process").GetProperty("entity_id").GetString();

    internal static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    /// <summary>A running dataset with a reporter that keeps every document as parsed JSON.</summary>
    internal sealed class DatasetRun : IEventReporter, IAsyncDisposable
    {
        private readonly ConcurrentQueue<JsonElement> _documents = new();
        private readonly ConcurrentQueue<Event> _events = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly MetricsRegistry _metrics = new();
        private Task? _run;

        public ProcessDataset? Dataset { get; private set; }

        public static async Task<DatasetRun> StartAsync(
            string backend,
            string holdTime = "200ms",
            string receiveBuffer = "4 MiB",
            Action<IProcessEventSource>? sourceStarted = null,
            LogSink? log = null,
            string? maxArgsBytes = null,
            byte[]? ebpfObject = null,
            string? ringBuffer = null,
            Shipper.Module.Containers.IContainerMetadataSource? containerMetadata = null)
        {
            var run = new DatasetRun();
            var config = new ConfigMap("system", SourceLocation.None);
            var process = new ConfigMap("system.process", SourceLocation.None);
            process.Set("backend", new ConfigScalar("system.process.backend", SourceLocation.None, backend, false));
            process.Set("hold_time", new ConfigScalar("system.process.hold_time", SourceLocation.None, holdTime, false));
            if (maxArgsBytes is not null)
            {
                process.Set("max_args_bytes", new ConfigScalar("system.process.max_args_bytes", SourceLocation.None, maxArgsBytes, false));
            }

            if (ringBuffer is not null)
            {
                var ebpf = new ConfigMap("system.process.ebpf", SourceLocation.None);
                ebpf.Set("ring_buffer_size", new ConfigScalar("system.process.ebpf.ring_buffer_size", SourceLocation.None, ringBuffer, false));
                process.Set("ebpf", ebpf);
            }

            var procfs = new ConfigMap("system.process.procfs", SourceLocation.None);
            procfs.Set("period", new ConfigScalar("system.process.procfs.period", SourceLocation.None, "100ms", false));
            process.Set("procfs", procfs);
            var netlink = new ConfigMap("system.process.netlink", SourceLocation.None);
            netlink.Set("receive_buffer", new ConfigScalar("system.process.netlink.receive_buffer", SourceLocation.None, receiveBuffer, false));
            process.Set("netlink", netlink);
            config.Set("process", process);
            var context = new DatasetContext
            {
                Config = new ConfigSection(config, new ConfigReadTracker()),
                Metrics = run._metrics,
                Log = log is null ? Logger.Null : new Logger(log, "process"),
                Time = TimeProvider.System,
                HostId = "shipper-test-host",
                DataPath = Path.GetTempPath(),
                ContainerMetadata = containerMetadata,
            };

            // As the registry builds it (BuiltInDatasets): hashes from process.hash.* (default sha1).
            var dataset = new ProcessDataset(context)
            {
                Hashes = ExecutableHashSource.Create(context),
                SourceStarted = sourceStarted,
                EbpfObjectOverride = ebpfObject,
            };
            run.Dataset = dataset;
            run._run = Task.Run(() => dataset.RunAsync(run, run._stop.Token));

            // Started once the snapshot (taken after the source is listening) has reported this test process.
            await run.WaitFor(d => Pid(d) == Environment.ProcessId && Action(d) == "existing_process");
            return run;
        }

        public ValueTask PublishAsync(Event evt, CancellationToken cancellationToken)
        {
            var buffer = new global::System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("event.action", evt.Action);
                writer.WriteStartArray("event.type");
                foreach (var type in evt.Types)
                {
                    writer.WriteStringValue(type);
                }

                writer.WriteEndArray();
                writer.WriteString("event.kind", evt.Kind == EventKind.State ? "state" : "event");
                evt.Body.WriteFields(writer);
                writer.WriteEndObject();
            }

            _documents.Enqueue(JsonDocument.Parse(buffer.WrittenMemory).RootElement.Clone());
            _events.Enqueue(evt);
            return ValueTask.CompletedTask;
        }

        public async Task<JsonElement> WaitFor(Func<JsonElement, bool> match)
        {
            var deadline = DateTime.UtcNow + Wait;
            while (true)
            {
                foreach (var document in _documents)
                {
                    if (match(document))
                    {
                        return document;
                    }
                }

                if (_run is { IsCompleted: true })
                {
                    await _run; // surfaces the dataset's failure
                }

                Assert.True(DateTime.UtcNow < deadline, "the expected document did not arrive");
                await Task.Delay(20);
            }
        }

        public List<JsonElement> Documents(Func<JsonElement, bool> match) => _documents.Where(match).ToList();

        /// <summary>The events as published, for a test that writes them with the real document writer.</summary>
        public List<Event> Events(Func<Event, bool> match) => _events.Where(match).ToList();

        public string? Metric(string name) => _metrics.Snapshot().FirstOrDefault(m => m.Name == name).Text;

        public long Count(string name) => _metrics.Snapshot().FirstOrDefault(m => m.Name == name).Number;

        public async Task WaitForMetric(Func<DatasetRun, bool> condition)
        {
            var deadline = DateTime.UtcNow + Wait;
            while (!condition(this))
            {
                Assert.True(DateTime.UtcNow < deadline, "the metrics did not reach the expected values");
                await Task.Delay(20);
            }
        }

        /// <summary>Stops the dataset and waits for it (the table can be inspected afterwards).</summary>
        public async Task StopAsync()
        {
            _stop.Cancel();
            if (_run is not null)
            {
                await _run.WaitAsync(Wait);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            if (_run is not null)
            {
                await _run.WaitAsync(Wait);
            }

            _stop.Dispose();
        }
    }
}
