using Shipper.Module.Config;

namespace Shipper.Containers.Docker;

/// <summary>
/// The <c>add_docker_metadata</c> processor's options. Every option libbeat has is either honoured here or an
/// error naming it; the ones that only make sense for log files (<c>match_source</c>, <c>match_source_index</c>,
/// <c>match_short_id</c>) are accepted with a warning, since a process document carries no <c>log.file.path</c>.
/// </summary>
public sealed class DockerMetadataSettings
{
    public const string DefaultHost = "unix:///var/run/docker.sock";

    public static readonly TimeSpan DefaultCleanupTimeout = TimeSpan.FromSeconds(60);

    private static readonly string[] DefaultMatchPids = ["process.pid", "process.parent.pid"];

    private static readonly string[] Known =
    [
        "host", "labels", "cleanup_timeout", "match_pids", "match_fields", "match_source", "match_source_index", "match_short_id", "ssl",
    ];

    /// <summary>The Docker API endpoint: a unix socket or a plain-HTTP TCP address.</summary>
    public required DockerEndpoint Endpoint { get; init; }

    /// <summary><c>labels.dedot</c>: '.' in label keys becomes '_' (true, the default) or nests the label (false).</summary>
    public bool Dedot { get; init; } = true;

    /// <summary>How long a container that died keeps its metadata (its last processes are still being reported).</summary>
    public TimeSpan CleanupTimeout { get; init; } = DefaultCleanupTimeout;

    /// <summary>Options accepted that do nothing here, with why (printed by <c>test config</c>).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>
    /// The settings of the <c>add_docker_metadata</c> entry in the top-level <c>processors</c> list, or null when there
    /// is none. Its warnings go to <paramref name="warnings"/>. Twice in the list is an error (one watcher serves all).
    /// </summary>
    public static DockerMetadataSettings? FromProcessors(ConfigNode? processors, ConfigReadTracker tracker, List<string> warnings)
    {
        if (processors is not ConfigList list)
        {
            return null;
        }

        DockerMetadataSettings? found = null;
        foreach (var item in list.Items)
        {
            if (item is ConfigMap { Count: 1 } map && map.Entries[0].Key == "add_docker_metadata")
            {
                if (found is not null)
                {
                    throw item.Error("add_docker_metadata is listed twice in processors; keep one");
                }

                found = Parse(map.Entries[0].Value, tracker, item.Path + ".add_docker_metadata");
                warnings.AddRange(found.Warnings);
            }
        }

        return found;
    }

    /// <summary>Parses the processor's map (<paramref name="node"/> may be null or <c>~</c>: every default).</summary>
    public static DockerMetadataSettings Parse(ConfigNode? node, ConfigReadTracker tracker, string path)
    {
        if (node is null or ConfigScalar { IsNull: true })
        {
            return new DockerMetadataSettings { Endpoint = DockerEndpoint.Parse(DefaultHost) };
        }

        if (node is not ConfigMap map)
        {
            throw node.Error($"expected a map of add_docker_metadata options, got {node.KindName}");
        }

        foreach (var (key, value) in map.Entries)
        {
            if (Array.IndexOf(Known, key) < 0)
            {
                throw value.Error($"unknown add_docker_metadata option '{key}'; known: {string.Join(", ", Known)}");
            }
        }

        var section = new ConfigSection(map, tracker);
        var warnings = new List<string>();
        if (section.Has("ssl"))
        {
            throw section.Error("ssl", "add_docker_metadata: TLS to the Docker API is not supported; use the unix socket or a plain-HTTP tcp:// address on a trusted network");
        }

        var hostText = section.String("host", DefaultHost);
        DockerEndpoint endpoint;
        try
        {
            endpoint = DockerEndpoint.Parse(hostText);
        }
        catch (FormatException e)
        {
            throw section.Error("host", e.Message);
        }

        var labels = section.Section("labels");
        foreach (var (key, value) in labels.Map.Entries)
        {
            if (key != "dedot")
            {
                throw value.Error($"unknown add_docker_metadata option 'labels.{key}'; known: labels.dedot");
            }
        }

        var dedot = labels.Bool("dedot", true);
        var cleanup = section.Duration("cleanup_timeout", DefaultCleanupTimeout, min: TimeSpan.FromSeconds(1));

        var pids = section.StringList("match_pids", DefaultMatchPids);
        if (pids.Count == 0 || !pids.Contains("process.pid"))
        {
            throw section.Error("match_pids", "add_docker_metadata: match_pids must include process.pid: a document's container comes from its own process's cgroup");
        }

        foreach (var pid in pids)
        {
            if (pid is not ("process.pid" or "process.parent.pid"))
            {
                throw section.Error("match_pids", $"add_docker_metadata: match_pids field '{pid}' is not supported; process documents carry process.pid and process.parent.pid");
            }
        }

        if (section.StringList("match_fields", []).Count > 0)
        {
            throw section.Error("match_fields", "add_docker_metadata: match_fields is not supported; a process document's container id comes from its process's cgroup");
        }

        foreach (var key in new[] { "match_source", "match_source_index", "match_short_id" })
        {
            if (section.Consume(key) is { } option && option is not ConfigScalar { IsNull: true })
            {
                warnings.Add($"{path}.{key} has no effect: it reads container ids from log.file.path, which process documents do not have");
            }
        }

        return new DockerMetadataSettings { Endpoint = endpoint, Dedot = dedot, CleanupTimeout = cleanup, Warnings = warnings };
    }
}
