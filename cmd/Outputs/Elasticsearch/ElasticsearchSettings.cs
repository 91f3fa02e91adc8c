using Shipper.Module.Config;
using Shipper.Module.Logging;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// <c>output.elasticsearch.*</c> with libbeat's names and defaults. Parse once at start; every error names
/// the setting and where it was written.
/// </summary>
public sealed class ElasticsearchSettings
{
    public const string DefaultIndex = "shipper-%{[agent.version]}";

    /// <summary>
    /// Settings whose values are secrets, relative to <c>output.elasticsearch</c>. <c>export config</c> and logs
    /// must show them redacted. Header names are matched case-insensitively (see <see cref="IsSecret"/>); a
    /// password written into a host or proxy URL is masked by <see cref="RedactValue"/>.
    /// </summary>
    public static readonly IReadOnlyList<string> SecretPaths = new[]
    {
        "password",
        "api_key",
        "ssl.key",
        "ssl.key_passphrase",
        "headers.Authorization",
        "headers.X-Api-Key",
    };

    public required IReadOnlyList<ElasticsearchHost> Hosts { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>The raw <c>id:key</c>; sent base64-encoded as <c>Authorization: ApiKey …</c>.</summary>
    public string? ApiKey { get; init; }

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Extra URL parameters for <c>_bulk</c> (libbeat's <c>parameters</c>).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    public required FormatString Index { get; init; }

    public bool IndexIsDefault => Index.Text == DefaultIndex;

    public FormatString? Pipeline { get; init; }

    /// <summary>Events per <c>_bulk</c> request; larger batches are split. <see cref="int.MaxValue"/> when ≤ 0 was configured.</summary>
    public int BulkMaxSize { get; init; } = 1600;

    public int Worker { get; init; } = 1;

    /// <summary>0 = no compression, 1–9 = gzip level.</summary>
    public int CompressionLevel { get; init; } = 1;

    public bool EscapeHtml { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(90);

    public TimeSpan BackoffInit { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Zero means idle connections are kept forever.</summary>
    public TimeSpan IdleConnectionTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How often one event may be answered with a per-item 5xx before the non-indexable policy applies to it;
    /// −1 = retry forever. Connection failures, whole-request errors and 429s never count: an unreachable or
    /// overloaded cluster is retried for as long as the shipper runs.
    /// </summary>
    public int MaxRetries { get; init; } = 3;

    public bool LoadBalance { get; init; } = true;

    public SslSettings Ssl { get; init; } = SslSettings.Disabled;

    public NonIndexablePolicy NonIndexable { get; init; } = NonIndexablePolicy.Drop;

    /// <summary>The preset applied, or null for <c>custom</c>. The host applies its queue values to <c>queue.mem.*</c>.</summary>
    public OutputPreset? Preset { get; init; }

    public Uri? ProxyUrl { get; init; }

    public bool ProxyDisable { get; init; }

    /// <summary>Warnings found while parsing (preset overrides, TLS settings on http hosts), also logged when a logger was given.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>How many bulk requests may be in flight at once: <c>worker</c> per host with loadbalance, else <c>worker</c>.</summary>
    public int Concurrency => LoadBalance ? Worker * Hosts.Count : Worker;

    /// <summary>Whether a setting (dotted, below <c>output.elasticsearch</c>) holds a secret.</summary>
    public static bool IsSecret(string relativePath)
    {
        foreach (var secret in SecretPaths)
        {
            if (string.Equals(secret, relativePath, StringComparison.OrdinalIgnoreCase)
                || relativePath.StartsWith(secret + ".", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A printable form of a value under <c>output.elasticsearch</c>: secrets are masked, host URLs lose their password.</summary>
    public static string RedactValue(string relativePath, string value)
    {
        if (relativePath == "hosts" || relativePath.StartsWith("hosts.", StringComparison.Ordinal) || relativePath == "proxy_url")
        {
            return ElasticsearchHost.Redact(value);
        }

        return IsSecret(relativePath) ? "xxxxx" : value;
    }

    public static ElasticsearchSettings Parse(ConfigSection section, Logger? log = null)
    {
        var warnings = new List<string>();

        var presetName = section.Choice("preset", "custom", "balanced", "throughput", "scale", "latency", "custom");
        var preset = OutputPreset.ByName(presetName);
        if (preset is not null)
        {
            foreach (var key in OutputPreset.OutputKeys)
            {
                if (section.Has(key) || (key == "worker" && section.Has("workers")))
                {
                    warnings.Add($"performance preset '{preset.Name}' overrides the setting output.elasticsearch.{key}");
                }
            }

            section.Consume("bulk_max_size");
            section.Consume("worker");
            section.Consume("workers");
            section.Consume("compression_level");
            section.Consume("idle_connection_timeout");
        }

        var protocol = section.OptionalString("protocol");
        if (protocol is not null && protocol is not ("http" or "https"))
        {
            throw section.Error("protocol", $"'{protocol}' is not supported: use http or https");
        }

        var path = section.OptionalString("path");
        var hosts = ParseHosts(section, protocol, path);

        var username = section.OptionalString("username");
        var password = section.OptionalString("password");
        foreach (var host in hosts)
        {
            if (host.Username is not null)
            {
                username = host.Username;
                password = host.Password;
            }
        }

        var apiKey = section.OptionalString("api_key");
        if (apiKey is not null)
        {
            if (username is not null || password is not null)
            {
                throw section.Error("api_key", "set either api_key or username/password, not both");
            }

            var colon = apiKey.IndexOf(':');
            if (colon <= 0 || colon == apiKey.Length - 1)
            {
                throw section.Error("api_key", "expected the API key's id and key joined by a colon (id:key)");
            }
        }

        var indexText = section.String("index", DefaultIndex);
        var index = ParseFormat(section, "index", indexText);
        if (index.Segments.Count == 1 && index.Segments[0].Kind == FormatSegmentKind.Literal
            && IndexNames.Check(indexText.ToLowerInvariant()) is { } indexProblem)
        {
            throw section.Error("index", indexProblem);
        }

        var pipelineText = section.OptionalString("pipeline");
        var pipeline = string.IsNullOrEmpty(pipelineText) ? null : ParseFormat(section, "pipeline", pipelineText);

        var bulkMaxSize = preset?.BulkMaxSize ?? section.Int("bulk_max_size", 1600);
        if (bulkMaxSize <= 0)
        {
            bulkMaxSize = int.MaxValue;
        }

        var worker = preset?.Worker ?? section.Int("worker", section.Int("workers", 1, 1, 1024), 1, 1024);
        var compression = preset?.CompressionLevel ?? section.Int("compression_level", 1, 0, 9);
        var idle = preset?.IdleConnectionTimeout ?? section.Duration("idle_connection_timeout", TimeSpan.FromSeconds(3));

        var timeout = section.Duration("timeout", TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(1));
        var backoffInit = section.Duration("backoff.init", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1));
        var backoffMax = section.Duration("backoff.max", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(1));
        if (backoffMax < backoffInit)
        {
            throw section.Error("backoff.max", $"backoff.max ({ValueParsers.FormatDuration(backoffMax)}) must not be smaller than backoff.init ({ValueParsers.FormatDuration(backoffInit)})");
        }

        var ssl = SslSettings.Parse(section.Section("ssl"));
        if (ssl.Enabled && section.Find("ssl") is not null)
        {
            foreach (var host in hosts)
            {
                if (!host.IsHttps)
                {
                    warnings.Add($"output.elasticsearch.ssl is set but host {host.Display} uses http: write https:// (or protocol: https) to use TLS");
                }
            }
        }

        Uri? proxy = null;
        var proxyText = section.OptionalString("proxy_url");
        if (proxyText is not null)
        {
            var withScheme = proxyText.Contains("://", StringComparison.Ordinal) ? proxyText : "http://" + proxyText;
            if (!Uri.TryCreate(withScheme, UriKind.Absolute, out proxy) || proxy.Scheme is not ("http" or "https" or "socks5"))
            {
                throw section.Error("proxy_url", $"'{ElasticsearchHost.Redact(proxyText)}' is not a valid proxy URL (http, https or socks5)");
            }
        }

        var settings = new ElasticsearchSettings
        {
            Hosts = hosts,
            Username = username,
            Password = password,
            ApiKey = apiKey,
            Headers = section.StringMap("headers"),
            Parameters = section.StringMap("parameters"),
            Index = index,
            Pipeline = pipeline,
            BulkMaxSize = bulkMaxSize,
            Worker = worker,
            CompressionLevel = compression,
            EscapeHtml = section.Bool("escape_html", false),
            Timeout = timeout,
            BackoffInit = backoffInit,
            BackoffMax = backoffMax,
            IdleConnectionTimeout = idle,
            MaxRetries = section.Int("max_retries", 3, -1),
            LoadBalance = section.Bool("loadbalance", true),
            Ssl = ssl,
            NonIndexable = NonIndexablePolicy.Parse(section.Section("non_indexable_policy")),
            Preset = preset,
            ProxyUrl = proxy,
            ProxyDisable = section.Bool("proxy_disable", false),
            Warnings = warnings,
        };

        // Accepted for compatibility with beats configs; the output is on whenever it is the configured output.
        section.Bool("enabled", true);

        if (log is not null)
        {
            if (preset is not null)
            {
                log.Info($"applying performance preset '{preset.Name}': bulk_max_size {preset.BulkMaxSize}, worker {preset.Worker}, compression_level {preset.CompressionLevel}, idle_connection_timeout {ValueParsers.FormatDuration(preset.IdleConnectionTimeout)}");
            }

            foreach (var warning in warnings)
            {
                log.Warn(warning);
            }
        }

        return settings;
    }

    private static List<ElasticsearchHost> ParseHosts(ConfigSection section, string? protocol, string? path)
    {
        var node = section.Find("hosts");
        var values = section.StringList("hosts", Array.Empty<string>());
        if (values.Count == 0)
        {
            throw section.Error("hosts", "no Elasticsearch hosts configured: set output.elasticsearch.hosts, for example [\"https://localhost:9200\"]");
        }

        var hosts = new List<ElasticsearchHost>(values.Count);
        for (var i = 0; i < values.Count; i++)
        {
            var itemNode = node is ConfigList list ? list.Items[i] : node!;
            hosts.Add(ElasticsearchHost.Parse(values[i], protocol, path, itemNode));
        }

        return hosts;
    }

    private static FormatString ParseFormat(ConfigSection section, string key, string text)
    {
        try
        {
            return FormatString.Parse(text);
        }
        catch (FormatException e)
        {
            throw section.Error(key, e.Message);
        }
    }
}
