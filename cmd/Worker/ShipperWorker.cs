using Shipper.Config;
using Shipper.Containers.Docker;
using Shipper.Events;
using Shipper.Logging;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Monitoring;
using Shipper.Outputs;
using Shipper.Outputs.Console;
using Shipper.Outputs.Elasticsearch;
using Shipper.IndexManagement;
using Shipper.Publisher;
using Shipper.Publisher.Disk;

namespace Shipper.Worker;

/// <summary>
/// The worker: the datasets, the publisher pipeline, the output and the metrics registry, built from the
/// settings and run until stopped. Building validates everything (every dataset and the output parse their
/// settings; any key nobody read is an error) without touching the system, so <c>test config</c> is a build.
/// </summary>
public sealed class ShipperWorker : IAsyncDisposable
{
    /// <summary>
    /// How much longer than <c>shipper.shutdown_timeout</c> a dataset may take to stop before the worker stops
    /// waiting: datasets bound themselves to the timeout, and closing their event source takes a moment more.
    /// </summary>
    private static readonly TimeSpan DatasetStopGrace = TimeSpan.FromSeconds(1);

    private readonly List<IDataset> _datasets;
    private readonly LogWriter? _logWriter;

    private ShipperWorker(ShipperSettings settings, Logger log, LogWriter? logWriter, MetricsRegistry metrics, AgentInfo agent, HostInfo host, List<IDataset> datasets, IOutput output, Pipeline pipeline, TimeProvider time)
    {
        Settings = settings;
        Log = log;
        _logWriter = logWriter;
        Metrics = metrics;
        Agent = agent;
        Host = host;
        _datasets = datasets;
        Output = output;
        Pipeline = pipeline;
        Time = time;
    }

    public ShipperSettings Settings { get; }

    public Logger Log { get; }

    public MetricsRegistry Metrics { get; }

    public AgentInfo Agent { get; }

    public HostInfo Host { get; }

    public IReadOnlyList<IDataset> Datasets => _datasets;

    public IOutput Output { get; }

    public Pipeline Pipeline { get; }

    public TimeProvider Time { get; }

    /// <summary>Re-reads the host fields every add_host_metadata cache.ttl while running; null without the processor.</summary>
    private HostMetadataRefresh? HostRefresh { get; init; }

    /// <summary>The add_docker_metadata watcher the datasets look containers up in; null when not configured.</summary>
    public DockerWatcher? DockerWatcher { get; private init; }

    /// <summary>Settings accepted but not (fully) honoured, for <c>test config</c> and the start-up log.</summary>
    public IReadOnlyList<string> Warnings { get; private init; } = Array.Empty<string>();

    public static ShipperWorker Build(ShipperSettings settings, WorkerOptions options, DatasetRegistry registry)
    {
        LogWriter? logWriter = null;
        LogSink sink;
        var secrets = ConfiguredSecrets.From(settings.Root);

        // Before anything is opened in them; test config and the watcher's check only look, the worker creates.
        var directoryWarnings = new List<string>();
        PrivateDirectory.Prepare(settings.Paths.Data, "path.data", options.StrictPerms, create: options.ForRun, directoryWarnings);
        if (options.LogSink is null && !(options.LogToStderr || settings.Logging.ToStderr) && settings.Logging.ToFiles)
        {
            PrivateDirectory.Prepare(settings.Logging.FilesPath ?? settings.Paths.Logs, settings.Logging.FilesPath is null ? "path.logs" : "logging.files.path", options.StrictPerms, create: options.ForRun, directoryWarnings);
        }

        if (options.LogSink is not null)
        {
            sink = options.LogSink;
        }
        else if (!options.ForRun)
        {
            sink = LogSink.Null;
        }
        else
        {
            var selectors = new List<string>(settings.Logging.Selectors);
            selectors.AddRange(options.DebugSelectors);
            var toStderr = options.LogToStderr || settings.Logging.ToStderr;
            RotatingFile? file = null;
            if (!toStderr && settings.Logging.ToFiles)
            {
                try
                {
                    file = new RotatingFile(settings.Logging.FilesPath ?? settings.Paths.Logs, settings.Logging.FilesName, settings.Logging.RotateEveryBytes, settings.Logging.KeepFiles);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ConfigException("logging.files.path", SourceLocation.None, $"cannot open the log file in {settings.Logging.FilesPath ?? settings.Paths.Logs}: {e.Message}");
                }
            }

            logWriter = new LogWriter(settings.Logging.Level, selectors, settings.Logging.Json, toStderr ? options.Stderr : null, file, options.Time, secrets: secrets);
            sink = logWriter;
        }

        var log = new Logger(sink, "shipper");
        var metrics = new MetricsRegistry();
        var host = HostMetadataRefresh.Read(settings.HostMetadata, log);
        var agent = new AgentInfo
        {
            // libbeat's beat name: the top-level name, else the host name; also the built-in host.name.
            Name = string.IsNullOrEmpty(settings.Name) ? host.KernelHostname : settings.Name,
            Version = BuildInfo.Version,
            Id = options.ForRun ? AgentMetaFile.LoadOrCreateId(settings.Paths.Data, log, options.Time) : Guid.Empty.ToString(),
            EphemeralId = Guid.NewGuid().ToString(),
        };

        var datasets = new List<IDataset>();
        var dockerWatcher = settings.DockerMetadata is { } docker ? new DockerWatcher(docker, log.Named("add_docker_metadata"), options.Time) : null;
        var warnings = new List<string>(settings.Ignored);
        warnings.AddRange(directoryWarnings);
        foreach (var entry in settings.Modules)
        {
            if (!entry.Enabled)
            {
                MarkAllConsumed(entry.Section);
                continue;
            }

            foreach (var name in entry.Datasets)
            {
                var context = new DatasetContext
                {
                    Config = entry.Section,
                    Metrics = metrics,
                    Log = log.Named(entry.Module + "/" + name),
                    Time = options.Time,
                    HostId = host.Id,
                    DataPath = settings.Paths.Data,
                    Secrets = secrets,
                    ShipperPids = ShipperPids(),
                    ShutdownTimeout = settings.ShutdownTimeout,
                    Progress = options.Progress,
                    ContainerMetadata = dockerWatcher,
                };
                datasets.Add(registry.Create(entry.Module, name, context, entry.Section.Find("datasets") ?? entry.Section.Map));
                warnings.AddRange(context.Warnings);
            }
        }

        if (datasets.Count == 0)
        {
            throw new ConfigException("shipper.modules", settings.Root.Location, $"no dataset is enabled; add a module entry such as '- module: system' with 'datasets: [process]' (known: {string.Join(", ", registry.Names)})");
        }

        var documents = new DocumentWriter(agent, host, settings.Tags, settings.Fields, settings.FieldsUnderRoot, settings.HostMetadata);
        var hostRefresh = settings.HostMetadata is { } hostMetadata ? new HostMetadataRefresh(documents, hostMetadata, options.Time, log.Named("add_host_metadata")) : null;
        var (output, batchSize, workers, queue) = CreateOutput(settings, options, documents, metrics, log, warnings);
        settings.Tracker.EnsureAllConsumed(settings.Root);
        Pipeline pipeline;
        if (settings.DiskQueue is { } disk)
        {
            var diskQueue = new DiskQueue(disk, documents, metrics, log.Named("diskqueue"), options.Time);
            if (options.ForRun)
            {
                diskQueue.Open();
            }
            else
            {
                QueueDirectory.CheckIfPresent(disk.Path);
            }

            pipeline = new Pipeline(diskQueue, QueueSettings.ForDiskQueue(disk), output, batchSize, workers, metrics, log.Named("publisher"), options.Time);
        }
        else
        {
            pipeline = new Pipeline(queue, output, Math.Min(batchSize, queue.Events), workers, metrics, log.Named("publisher"), options.Time);
        }

        return new ShipperWorker(settings, log, logWriter, metrics, agent, host, datasets, output, pipeline, options.Time) { Warnings = warnings, HostRefresh = hostRefresh, DockerWatcher = dockerWatcher };
    }

    private static (IOutput Output, int BatchSize, int Workers, QueueSettings Queue) CreateOutput(ShipperSettings settings, WorkerOptions options, DocumentWriter documents, MetricsRegistry metrics, Logger log, List<string> warnings)
    {
        switch (settings.OutputName)
        {
            case "console":
                var stdout = options.Stdout ?? Stream.Null;
                return (new ConsoleOutput(settings.Console, stdout, documents, metrics, log.Named("console"), options.Time), settings.Console.BatchSize, 1, settings.Queue);
            case "elasticsearch":
                var esLog = log.Named("elasticsearch");
                var es = ElasticsearchSettings.Parse(settings.ElasticsearchSection, esLog);
                var template = TemplateSettings.Parse(settings.SetupTemplateSection, es);
                // One more publisher worker than requests in flight, so a batch is encoded while another is sent.
                var queue = es.Preset is { } preset ? PresetQueue(preset, settings, warnings) : settings.Queue;
                return (new ElasticsearchOutput(es, template, documents, metrics, esLog, options.Time, settings.Ilm), es.BulkMaxSize, es.Concurrency + 1, queue);
            default:
                throw new ConfigException("output." + settings.OutputName, SourceLocation.None, $"output {settings.OutputName} is not available in this build");
        }
    }

    /// <summary>
    /// A performance preset sets queue.mem.* too, and wins over the config's values, as in libbeat; each value
    /// it replaces gets a warning. <c>queue.mem.bytes</c> is ours, not a preset's, and stays as configured.
    /// With queue.disk the preset's queue values do not apply (a preset never drops the durable queue).
    /// </summary>
    private static QueueSettings PresetQueue(OutputPreset preset, ShipperSettings settings, List<string> warnings)
    {
        if (settings.DiskQueue is not null)
        {
            warnings.Add($"performance preset '{preset.Name}' sets queue.mem.*, which does not apply with queue.disk; the preset's output settings do");
            return settings.Queue;
        }

        var queue = new QueueSettings(preset.QueueEvents, preset.QueueFlushMinEvents, preset.QueueFlushTimeout, settings.Queue.Bytes);
        foreach (var (key, value) in settings.QueueExplicit)
        {
            var now = key switch
            {
                "queue.mem.events" => queue.Events.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "queue.mem.flush.min_events" => queue.FlushMinEvents.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "queue.mem.flush.timeout" => ValueParsers.FormatDuration(queue.FlushTimeout),
                _ => null,
            };
            if (now is not null)
            {
                warnings.Add($"performance preset '{preset.Name}' overrides the setting {key}: {value} is replaced by {now} (set output.elasticsearch.preset: custom to keep it)");
            }
        }

        return queue;
    }

    /// <summary>This process and, in a watched worker, the watcher: their command lines may hold <c>-E</c> secrets.</summary>
    private static int[] ShipperPids() =>
        Watchdog.WorkerWatchdog.WatcherPid is { } watcher ? [Environment.ProcessId, watcher] : [Environment.ProcessId];

    private static void MarkAllConsumed(ConfigSection section)
    {
        foreach (var (key, _) in section.Map.Entries)
        {
            section.Consume(key);
        }
    }

    /// <summary>Runs until <paramref name="stop"/> fires, then drains. Returns the process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        Log.Info($"shipper {BuildInfo.Version} (commit {BuildInfo.Commit}) starting: {_datasets.Count} dataset(s), output {Output.Name}, config {Settings.File}");
        foreach (var line in Warnings)
        {
            Log.Warn(line);
        }

        Pipeline.Start();
        HostRefresh?.Start();
        StatsServer? stats = null;
        if (Settings.Http.Enabled)
        {
            stats = new StatsServer(Settings.Http.Host, Settings.Http.Port, Metrics, Agent, Host, State, Log.Named("monitoring"));
            try
            {
                stats.Start();
            }
            catch (System.Net.Sockets.SocketException e)
            {
                Log.Error($"cannot listen on {Settings.Http.Host}:{Settings.Http.Port} for http monitoring: {e.Message}");
                return 2;
            }
        }

        var reporter = new MetricsLogReporter(Metrics, Log.Named("monitoring"), Settings.Logging.MetricsPeriod, Time);
        using var reporting = new CancellationTokenSource();
        var reporterTask = Settings.Logging.MetricsEnabled ? reporter.RunAsync(reporting.Token) : Task.CompletedTask;
        var lossReporter = new LossReporter(Metrics, Log.Named("monitoring"), Time);
        var lossReporterTask = lossReporter.RunAsync(reporting.Token);

        // The watcher runs beside the datasets and stops after them: documents look containers up until the last one.
        using var watcherStop = new CancellationTokenSource();
        var watcherTask = DockerWatcher?.RunAsync(watcherStop.Token) ?? Task.CompletedTask;
        using var datasetStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var running = new List<Task>(_datasets.Count);
        foreach (var dataset in _datasets)
        {
            running.Add(RunDatasetAsync(dataset, datasetStop.Token));
        }

        var exitCode = 0;
        var stopped = Task.Delay(Timeout.Infinite, stop);
        var firstDone = await Task.WhenAny(Task.WhenAny(running), stopped).ConfigureAwait(false);
        if (firstDone != stopped && !stop.IsCancellationRequested)
        {
            exitCode = 2; // a dataset ended on its own: that is a failure the watcher should see
        }

        // One budget for the whole stop, shipper.shutdown_timeout: the datasets turn what they read into events
        // within it (and count what they give up on), the publisher delivers within what is left of it.
        Log.Info($"stopping: datasets and then the queue get shipper.shutdown_timeout ({Settings.ShutdownTimeout.TotalSeconds:0.###}s) in all");
        var stopStarted = Time.GetTimestamp();
        datasetStop.Cancel();
        try
        {
            await Task.WhenAll(running).WaitAsync(Settings.ShutdownTimeout + DatasetStopGrace, Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.Warn($"a dataset did not stop within shipper.shutdown_timeout + {DatasetStopGrace.TotalSeconds:0}s; draining the queue anyway");
        }

        watcherStop.Cancel();
        await watcherTask.ConfigureAwait(false);
        await Pipeline.DrainAsync(Settings.ShutdownTimeout - Time.GetElapsedTime(stopStarted)).ConfigureAwait(false);
        HostRefresh?.Dispose();
        reporting.Cancel();
        await reporterTask.ConfigureAwait(false);
        await lossReporterTask.ConfigureAwait(false);
        lossReporter.Check(); // what the stop itself lost (undelivered, given up) is said too, within the same limit
        if (stats is not null)
        {
            await stats.DisposeAsync().ConfigureAwait(false);
        }

        reporter.ReportTotals();
        LogStopped();
        return exitCode;
    }

    /// <summary>
    /// The last line: it says every event was delivered only when every loss counter is zero (it once said so
    /// after 8,388 kernel events were missed); otherwise how many were lost, by counter.
    /// </summary>
    private void LogStopped()
    {
        var kept = Pipeline.KeptEvents > 0 ? $"; {Pipeline.KeptEvents} events stay in the disk queue for the next start" : "";
        var losses = LossReporter.Losses(Metrics);
        if (losses.Count == 0)
        {
            Log.Info(kept.Length == 0
                ? "shipper stopped; every event the publisher accepted was delivered"
                : "shipper stopped; every event the publisher accepted was delivered or kept" + kept);
            return;
        }

        long total = 0;
        var parts = new List<string>(losses.Count);
        foreach (var (counter, value) in losses)
        {
            total += value;
            parts.Add($"{counter} {value}");
        }

        Log.Warn($"shipper stopped; {total} events lost: {string.Join(", ", parts)}{kept}");
    }

    public IEnumerable<string> Diagnostics()
    {
        foreach (var line in Pipeline.Diagnostics())
        {
            yield return line;
        }

        foreach (var dataset in _datasets)
        {
            foreach (var line in dataset.Diagnostics())
            {
                yield return dataset.Name + ": " + line;
            }
        }

        yield return "metrics: " + MetricsJson.ToJson(Metrics.Snapshot());
    }

    private async Task RunDatasetAsync(IDataset dataset, CancellationToken stop)
    {
        try
        {
            await dataset.RunAsync(Pipeline, stop).ConfigureAwait(false);
            if (!stop.IsCancellationRequested)
            {
                Log.Error($"dataset {dataset.Name} stopped on its own");
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Log.Error($"dataset {dataset.Name} failed: {e.Message}");
        }
    }

    internal IReadOnlyDictionary<string, string> State()
    {
        var names = new List<string>();
        foreach (var dataset in _datasets)
        {
            names.Add(dataset.Name);
        }

        var state = new Dictionary<string, string>
        {
            ["beat.name"] = Agent.Name,
            ["output.name"] = Output.Name,
            ["modules"] = string.Join(",", names),
            ["queue.type"] = Pipeline.Queue.Type,
            // What the queue runs with (a preset's values where one applies), as /stats' pipeline.queue.max_* say.
            ["queue.mem.events"] = Settings.DiskQueue is null ? Pipeline.Batching.Events.ToString(System.Globalization.CultureInfo.InvariantCulture) : "",
            ["queue.mem.bytes"] = Settings.DiskQueue is null ? Pipeline.Batching.Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture) : "",
            ["queue.disk.path"] = Settings.DiskQueue?.Path ?? "",
            ["config"] = Settings.File,
        };
        if (Settings.MonitoringClusterUuid is { } clusterUuid)
        {
            state["monitoring.cluster_uuid"] = clusterUuid;
        }

        return state;
    }

    public async ValueTask DisposeAsync()
    {
        // Normally done by the drain; here for a run that ended before it (the disk queue saves its position).
        HostRefresh?.Dispose();
        await Pipeline.Queue.DisposeAsync().ConfigureAwait(false);
        await Output.DisposeAsync().ConfigureAwait(false);
        if (DockerWatcher is not null)
        {
            await DockerWatcher.DisposeAsync().ConfigureAwait(false);
        }

        _logWriter?.Dispose();
    }
}
