using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary>
/// The host's settings, read from the whole config tree. Module entries are kept as sections for the datasets
/// to read; output.elasticsearch, setup.template and watchdog are kept as sections for their owners.
/// </summary>
public sealed class ShipperSettings
{
    public required ConfigMap Root { get; init; }

    public required ConfigReadTracker Tracker { get; init; }

    /// <summary>The config file the settings came from.</summary>
    public required string File { get; init; }

    public required string? Name { get; init; }

    public required IReadOnlyList<string> Tags { get; init; }

    public required ConfigMap? Fields { get; init; }

    public required bool FieldsUnderRoot { get; init; }

    public required IReadOnlyList<ModuleEntry> Modules { get; init; }

    public required TimeSpan ShutdownTimeout { get; init; }

    public required QueueSettings Queue { get; init; }

    /// <summary>The <c>queue.mem.*</c> keys the config set, as written (a performance preset warns for each it replaces).</summary>
    public IReadOnlyList<(string Key, string Value)> QueueExplicit { get; init; } = Array.Empty<(string, string)>();

    /// <summary><c>queue.disk</c>; null when the queue is in memory.</summary>
    public DiskQueueSettings? DiskQueue { get; init; }

    /// <summary><c>console</c> or <c>elasticsearch</c>: exactly one output is enabled.</summary>
    public required string OutputName { get; init; }

    public required ConsoleOutputSettings Console { get; init; }

    public required ConfigSection ElasticsearchSection { get; init; }

    public required ConfigSection SetupTemplateSection { get; init; }

    /// <summary><c>setup.ilm</c> (checked whatever the output; used by output.elasticsearch).</summary>
    public required IndexManagement.IlmSettings Ilm { get; init; }

    public required Watchdog.WatchdogSettings Watchdog { get; init; }

    public required LoggingSettings Logging { get; init; }

    public required HttpSettings Http { get; init; }

    public required PathSettings Paths { get; init; }

    /// <summary>
    /// <c>monitoring.cluster_uuid</c>: the production cluster this shipper's monitoring data belongs to, shown in
    /// <c>/state</c> for Metricbeat's beat module (libbeat's Metricbeat collection reads it there).
    /// </summary>
    public string? MonitoringClusterUuid { get; init; }

    /// <summary>add_host_metadata's options; null when <c>processors</c> does not list it (documents then carry only host.name).</summary>
    public Events.HostMetadataSettings? HostMetadata { get; init; }

    /// <summary>The <c>add_docker_metadata</c> processor; null when it is not configured.</summary>
    public Containers.Docker.DockerMetadataSettings? DockerMetadata { get; init; }

    /// <summary>Settings accepted for compatibility with auditbeat.yml that do nothing here, with why.</summary>
    public required IReadOnlyList<string> Ignored { get; init; }

    private static readonly string[] KnownOutputs = { "console", "elasticsearch" };

    private static readonly string[] UnsupportedOutputs = { "logstash", "kafka", "redis", "file", "discard" };

    public static ShipperSettings Parse(ConfigMap root, PathSettings cliPaths, string file)
    {
        var tracker = new ConfigReadTracker();
        var top = new ConfigSection(root, tracker);
        var ignored = new List<string>();

        var modules = ParseModules(top);
        var outputs = top.Section("output");
        var enabled = new List<string>();
        foreach (var (name, node) in outputs.Map.Entries)
        {
            if (Array.IndexOf(KnownOutputs, name) < 0)
            {
                var hint = Array.IndexOf(UnsupportedOutputs, name) >= 0 ? " (not supported by shipper)" : "";
                throw node.Error($"unknown output '{name}'{hint}; known outputs: {string.Join(", ", KnownOutputs)}");
            }

            var section = outputs.Section(name);
            if (section.Bool("enabled", true))
            {
                enabled.Add(name);
            }
            else
            {
                // As in beats, a disabled output's settings are kept but not validated.
                outputs.Consume(name);
            }
        }

        if (enabled.Count == 0)
        {
            throw new ConfigException("output", outputs.Map.Location, "no output is enabled: configure output.console or output.elasticsearch");
        }

        if (enabled.Count > 1)
        {
            throw outputs.Map.Get(enabled[1])!.Error($"only one output may be enabled, but {string.Join(" and ", enabled)} are");
        }

        var fieldsNode = top.Consume("fields");
        if (fieldsNode is not null and not ConfigMap and not ConfigScalar { IsNull: true })
        {
            throw fieldsNode.Error($"expected a map of custom fields, got {fieldsNode.KindName}");
        }

        var fields = fieldsNode as ConfigMap;
        var underRoot = top.Bool("fields_under_root", false);
        if (underRoot && fields is not null)
        {
            foreach (var (key, node) in fields.Entries)
            {
                if (Array.IndexOf(Events.DocumentWriter.ReservedKeys, key) >= 0)
                {
                    throw node.Error($"custom field '{key}' would overwrite a field every document carries; rename it or set fields_under_root: false");
                }
            }
        }

        var clusterUuid = ParseMonitoring(top, ignored);
        IgnoreCompat(top, "setup.kibana", "Kibana setup is not part of shipper", ignored);
        IgnoreCompat(top, "setup.dashboards", "Kibana dashboards are not part of shipper", ignored);
        Events.HostMetadataSettings? hostMetadata = null;
        ParseProcessors(top, ignored, ref hostMetadata);
        var dockerMetadata = Containers.Docker.DockerMetadataSettings.FromProcessors(top.Find("processors"), tracker, ignored);

        var paths = ParsePaths(top.Section("path"), cliPaths);
        var ilm = IndexManagement.IlmSettings.Parse(top.Section("setup.ilm"), top.Section("setup.dsl"), paths.Config);
        if (enabled[0] != "elasticsearch" && top.Has("setup.ilm"))
        {
            ignored.Add($"setup.ilm is ignored: ILM policies are installed by output.elasticsearch, and the output is {enabled[0]}");
        }

        return new ShipperSettings
        {
            Root = root,
            Tracker = tracker,
            File = file,
            Name = top.OptionalString("name"),
            Tags = top.StringList("tags", Array.Empty<string>()),
            Fields = fields,
            FieldsUnderRoot = underRoot,
            Modules = modules,
            ShutdownTimeout = top.Duration("shipper.shutdown_timeout", TimeSpan.FromSeconds(5), min: TimeSpan.Zero, max: TimeSpan.FromHours(1)),
            Queue = QueueSettings.Parse(top.Section("queue")),
            QueueExplicit = QueueSettings.ExplicitKeys(top.Section("queue")),
            DiskQueue = top.Find("queue.disk") is not null ? DiskQueueSettings.Parse(top.Section("queue.disk"), paths.Data) : null,
            OutputName = enabled[0],
            Console = ConsoleOutputSettings.Parse(outputs.Section("console")),
            ElasticsearchSection = outputs.Section("elasticsearch"),
            SetupTemplateSection = top.Section("setup.template"),
            Ilm = ilm,
            Watchdog = Shipper.Watchdog.WatchdogSettings.Parse(top.Section("watchdog")),
            Logging = LoggingSettings.Parse(top.Section("logging")),
            Http = HttpSettings.Parse(top.Section("http")),
            Paths = paths,
            MonitoringClusterUuid = clusterUuid,
            Ignored = ignored,
            HostMetadata = hostMetadata,
            DockerMetadata = dockerMetadata,
        };
    }

    private static IReadOnlyList<ModuleEntry> ParseModules(ConfigSection top)
    {
        var shipper = top.SectionList("shipper.modules");
        var auditbeat = top.SectionList("auditbeat.modules");
        if (shipper.Count > 0 && auditbeat.Count > 0)
        {
            throw top.Error("auditbeat.modules", "both shipper.modules and auditbeat.modules are set; keep one (auditbeat.modules is an alias)");
        }

        var list = shipper.Count > 0 ? shipper : auditbeat;
        var result = new List<ModuleEntry>(list.Count);
        foreach (var entry in list)
        {
            var module = entry.OptionalString("module") ?? throw new ConfigException(entry.Path + ".module", entry.Map.Location, "every module entry needs 'module'");
            var datasets = entry.StringList("datasets", Array.Empty<string>());
            if (datasets.Count == 0)
            {
                throw new ConfigException(entry.Path + ".datasets", entry.Map.Location, $"module '{module}' enables no datasets: list them under 'datasets'");
            }

            result.Add(new ModuleEntry(module, datasets, entry.Bool("enabled", true), entry));
        }

        return result;
    }

    private static void ParseProcessors(ConfigSection top, List<string> ignored, ref Events.HostMetadataSettings? hostMetadata)
    {
        var node = top.Consume("processors");
        if (node is null or ConfigScalar { IsNull: true })
        {
            return;
        }

        if (node is not ConfigList list)
        {
            throw node.Error($"expected a list of processors, got {node.KindName}");
        }

        foreach (var item in list.Items)
        {
            if (item is not ConfigMap { Count: 1 } map)
            {
                throw item.Error("each processor is a map with one key, e.g. '- add_host_metadata: ~'");
            }

            var (name, value) = map.Entries[0];
            switch (name)
            {
                case "add_host_metadata":
                    if (hostMetadata is not null)
                    {
                        throw item.Error("add_host_metadata is listed twice; keep one");
                    }

                    hostMetadata = Events.HostMetadataSettings.Parse(value);
                    break;
                case "add_docker_metadata":
                    break; // its options: DockerMetadataSettings.FromProcessors
                case "add_cloud_metadata" or "add_kubernetes_metadata" or "add_locale" or "add_process_metadata":
                    ignored.Add($"processors: {name} is not supported and is ignored");
                    break;
                default:
                    throw item.Error($"processor '{name}' is not supported; supported: add_host_metadata, add_docker_metadata");
            }
        }
    }

    /// <summary>
    /// libbeat's internal collection (<c>monitoring.enabled: true</c>, shipping to <c>.monitoring-beats-*</c>) is
    /// not built: enabling it is an error. Its other settings do nothing while it is off, so each one that is set
    /// gets a warning, except <c>cluster_uuid</c>, which <c>/state</c> reports as libbeat's does.
    /// </summary>
    private static string? ParseMonitoring(ConfigSection top, List<string> ignored)
    {
        if (top.Bool("monitoring.enabled", false))
        {
            throw top.Error("monitoring.enabled", "shipping monitoring data to Elasticsearch (internal collection) is not supported; use http.enabled for /stats and /state (Metricbeat's beat module reads them) and logging.metrics for the periodic log");
        }

        var clusterUuid = top.OptionalString("monitoring.cluster_uuid");
        if (top.Find("monitoring") is ConfigMap monitoring)
        {
            foreach (var (key, node) in monitoring.Entries)
            {
                if (key is not ("enabled" or "cluster_uuid") && node is not ConfigScalar { IsNull: true })
                {
                    ignored.Add($"monitoring.{key} ({node.Location}) has no effect: monitoring.enabled is false and internal collection is not supported");
                }
            }
        }

        top.Consume("monitoring");
        return clusterUuid;
    }

    private static void IgnoreCompat(ConfigSection top, string key, string why, List<string> ignored)
    {
        if (top.Consume(key) is { } node && node is not ConfigScalar { IsNull: true })
        {
            ignored.Add($"{key} is ignored: {why}");
        }
    }

    private static PathSettings ParsePaths(ConfigSection path, PathSettings cli)
    {
        var home = cli.Home.Length > 0 ? cli.Home : path.String("home", ConfigVariables.DefaultHome);
        var config = cli.Config.Length > 0 ? cli.Config : path.String("config", home);
        var data = cli.Data.Length > 0 ? cli.Data : path.String("data", System.IO.Path.Combine(home, "data"));
        var logs = cli.Logs.Length > 0 ? cli.Logs : path.String("logs", System.IO.Path.Combine(home, "logs"));
        return new PathSettings(home, config, data, logs);
    }
}
