using System.Text.RegularExpressions;
using Shipper.Module.Config;

namespace Shipper.Events;

/// <summary>
/// The options of the <c>add_host_metadata</c> processor, as libbeat names them: <c>netinfo.enabled</c>,
/// <c>cache.ttl</c>, <c>replace_fields</c>, <c>name</c> and <c>geo.*</c>. An unknown option is an error.
/// </summary>
public sealed partial class HostMetadataSettings
{
    /// <summary>The shortest re-read interval: <c>cache.ttl</c> ≤ 0 (libbeat: re-read per event) re-reads this often.</summary>
    public static readonly TimeSpan MinimumRefresh = TimeSpan.FromSeconds(1);

    /// <summary>The geo keys libbeat accepts, in the order they are written under host.geo.</summary>
    public static readonly string[] GeoKeys =
    {
        "name", "location", "continent_name", "country_name", "country_iso_code", "region_name", "region_iso_code", "city_name",
    };

    /// <summary>The processor with every option at its default.</summary>
    public static readonly HostMetadataSettings Default = new();

    /// <summary>host.ip and host.mac; default true.</summary>
    public bool NetInfo { get; init; } = true;

    /// <summary>How long read host data is used before it is read again; default 5m; ≤ 0 means every <see cref="MinimumRefresh"/>.</summary>
    public TimeSpan CacheTtl { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// true (default): the host data overwrites a document's host.* leaves and keeps its other host.* keys;
    /// false: a document that already holds host.* keys besides host.name keeps them and gets no host data.
    /// </summary>
    public bool ReplaceFields { get; init; } = true;

    /// <summary>Overrides host.name; null keeps the host name.</summary>
    public string? Name { get; init; }

    /// <summary>host.geo.* values that are set (non-blank), in <see cref="GeoKeys"/> order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Geo { get; init; } = Array.Empty<KeyValuePair<string, string>>();

    /// <summary>The interval at which host data is re-read.</summary>
    public TimeSpan RefreshInterval => CacheTtl > MinimumRefresh ? CacheTtl : MinimumRefresh;

    /// <summary>Parses the processor's value (<c>~</c> or a map of options).</summary>
    public static HostMetadataSettings Parse(ConfigNode node)
    {
        if (node is ConfigScalar { IsNull: true })
        {
            return Default;
        }

        if (node is not ConfigMap map)
        {
            throw node.Error($"add_host_metadata takes a map of options (netinfo.enabled, cache.ttl, replace_fields, name, geo.*) or ~, got {node.KindName}");
        }

        // A tracker of its own: the processors list is consumed whole by the caller, so unknown options are
        // found here, with their key and position.
        var tracker = new ConfigReadTracker();
        var section = new ConfigSection(map, tracker);
        var geo = new List<KeyValuePair<string, string>>();
        foreach (var key in GeoKeys)
        {
            var value = section.OptionalString("geo." + key);
            if (value is null || value.AsSpan().Trim().Length == 0)
            {
                continue; // libbeat drops blank geo values
            }

            if (key == "location")
            {
                CheckLocation(section, value);
            }

            geo.Add(new(key, value));
        }

        // "" is libbeat's "not set"; a name of only spaces would be a host.name nobody can search for.
        var name = section.OptionalString("name");
        if (name is { Length: > 0 } && name.Trim().Length == 0)
        {
            throw section.Error("name", "host.name cannot be blank; remove 'name' (or set it to \"\") to keep the host name");
        }

        if (name is { Length: 0 })
        {
            name = null;
        }

        var settings = new HostMetadataSettings
        {
            NetInfo = section.Bool("netinfo.enabled", true),
            CacheTtl = ParseTtl(section),
            ReplaceFields = section.Bool("replace_fields", true),
            Name = name,
            Geo = geo,
        };
        tracker.EnsureAllConsumed(map);
        return settings;
    }

    private static TimeSpan ParseTtl(ConfigSection section)
    {
        // libbeat takes any Go duration and treats ≤ 0 as "no caching"; the shared parser refuses a sign, so a
        // negative TTL is recognised here and means the same as 0.
        if (section.Find("cache.ttl") is ConfigScalar { IsNull: false } scalar && scalar.Value.Trim() is ['-', .. var rest]
            && ValueParsers.TryParseDuration(rest, out _))
        {
            section.Consume("cache.ttl");
            return TimeSpan.Zero;
        }

        return section.Duration("cache.ttl", TimeSpan.FromMinutes(5), min: TimeSpan.Zero, max: TimeSpan.FromDays(365));
    }

    /// <summary>
    /// libbeat's format check, plus the ranges: Elasticsearch refuses a geo_point outside them, and with it
    /// every document that carries it.
    /// </summary>
    private static void CheckLocation(ConfigSection section, string value)
    {
        var match = Location().Match(value);
        if (!match.Success)
        {
            throw section.Error("geo.location", $"'{value}' is not a \"lat, lon\" pair of decimal degrees such as \"40.7128, -74.0060\"");
        }

        var lat = double.Parse(match.Groups["lat"].Value, System.Globalization.CultureInfo.InvariantCulture);
        var lon = double.Parse(match.Groups["lon"].Value, System.Globalization.CultureInfo.InvariantCulture);
        if (lat is < -90 or > 90 || lon is < -180 or > 180)
        {
            throw section.Error("geo.location", $"'{value}' is out of range: latitude must be within ±90 and longitude within ±180");
        }
    }

    // libbeat's check: two decimal numbers (optional sign and fraction) separated by a comma, spaces allowed.
    [GeneratedRegex(@"^\s*(?<lat>-?[0-9]+(\.[0-9]+)?)\s*,\s*(?<lon>-?[0-9]+(\.[0-9]+)?)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex Location();
}
