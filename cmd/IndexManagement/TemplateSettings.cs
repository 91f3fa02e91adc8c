using System.Globalization;
using Shipper.Module.Config;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.IndexManagement;

/// <summary>
/// <c>setup.template.*</c>: whether and how the composable index template generated from fields.yml is
/// loaded. <c>name</c> defaults to <c>shipper-%{[agent.version]}</c>, <c>pattern</c> to the name followed by
/// <c>*</c> (as libbeat), <c>priority</c> to 150; <c>settings.index</c> and <c>settings._source</c> are
/// merged into the template. <c>data_stream</c> (a Shipper addition, default true, as every beats 8
/// template) declares the matching indices to be data streams.
/// </summary>
public sealed class TemplateSettings
{
    public const string DefaultName = "shipper-%{[agent.version]}";

    public bool Enabled { get; init; } = true;

    /// <summary>Null = <see cref="DefaultName"/>.</summary>
    public string? Name { get; init; }

    /// <summary>Null = the resolved name followed by <c>*</c>.</summary>
    public string? Pattern { get; init; }

    public bool Overwrite { get; init; }

    public int Priority { get; init; } = 150;

    public bool DataStream { get; init; } = true;

    /// <summary>User index settings (<c>setup.template.settings.index</c>), merged over the defaults.</summary>
    public JsonObjectTree IndexSettings { get; init; } = new();

    /// <summary><c>setup.template.settings._source</c>, written to <c>mappings._source</c> when set.</summary>
    public JsonObjectTree Source { get; init; } = new();

    public static TemplateSettings Default { get; } = new();

    /// <summary>True when the user set <c>setup.template.settings.index.lifecycle.name</c> (then it is kept as written).</summary>
    public bool SetsLifecycleName => IndexSettings["lifecycle"] is JsonObjectTree lifecycle && lifecycle.ContainsKey("name");

    /// <summary>
    /// These settings with <c>index.lifecycle.name</c> set to <paramref name="policyName"/>, as libbeat links the
    /// template to its ILM policy; unchanged when the user set a lifecycle name of their own.
    /// </summary>
    public TemplateSettings WithLifecycleName(string policyName)
    {
        if (SetsLifecycleName)
        {
            return this;
        }

        // Ours first, the user's merged over it: the user's own objects are shared, never changed.
        var index = new JsonObjectTree();
        index.SetPath("lifecycle.name", policyName);
        index.DeepMerge(IndexSettings);
        return new TemplateSettings
        {
            Enabled = Enabled,
            Name = Name,
            Pattern = Pattern,
            Overwrite = Overwrite,
            Priority = Priority,
            DataStream = DataStream,
            IndexSettings = index,
            Source = Source,
        };
    }

    /// <summary>
    /// Parses <c>setup.template</c>. With <paramref name="output"/>, also checks libbeat's rule that a custom
    /// <c>output.elasticsearch.index</c> needs its own template name and pattern.
    /// </summary>
    public static TemplateSettings Parse(ConfigSection setupTemplate, ElasticsearchSettings? output = null)
    {
        var enabled = setupTemplate.Bool("enabled", true);
        var name = setupTemplate.OptionalString("name");
        var pattern = setupTemplate.OptionalString("pattern");
        foreach (var (key, value) in new[] { ("name", name), ("pattern", pattern) })
        {
            if (value is null)
            {
                continue;
            }

            try
            {
                FormatString.Parse(value);
            }
            catch (FormatException e)
            {
                throw setupTemplate.Error(key, e.Message);
            }
        }

        if (output is not null && enabled && !output.IndexIsDefault && (name is null || pattern is null))
        {
            throw setupTemplate.Error(name is null ? "name" : "pattern",
                "setup.template.name and setup.template.pattern have to be set if output.elasticsearch.index is modified (or set setup.template.enabled: false)");
        }

        var settings = setupTemplate.Section("settings");
        return new TemplateSettings
        {
            Enabled = enabled,
            Name = name,
            Pattern = pattern,
            Overwrite = setupTemplate.Bool("overwrite", false),
            Priority = setupTemplate.Int("priority", 150, 0),
            DataStream = setupTemplate.Bool("data_stream", true),
            IndexSettings = ReadTree(settings.Consume("index")),
            Source = ReadTree(settings.Consume("_source")),
        };
    }

    private static JsonObjectTree ReadTree(ConfigNode? node)
    {
        var tree = new JsonObjectTree();
        switch (node)
        {
            case null:
            case ConfigScalar { IsNull: true }:
                return tree;
            case ConfigMap map:
                foreach (var (key, value) in map.Entries)
                {
                    tree.Set(key, value is ConfigMap ? ReadTree(value) : ReadValue(value));
                }

                return tree;
            default:
                throw node.Error($"expected a map of settings, got {node.KindName}");
        }
    }

    private static object? ReadValue(ConfigNode node)
    {
        switch (node)
        {
            case ConfigMap:
                return ReadTree(node);
            case ConfigList list:
                var items = new List<object?>();
                foreach (var item in list.Items)
                {
                    items.Add(ReadValue(item));
                }

                return items;
            case ConfigScalar scalar:
                if (scalar.IsQuoted)
                {
                    return scalar.Value;
                }

                if (scalar.IsNull)
                {
                    return null;
                }

                if (scalar.Value is "true" or "false")
                {
                    return scalar.Value == "true";
                }

                if (long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                {
                    return l;
                }

                if (double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
                {
                    return d;
                }

                return scalar.Value;
            default:
                return null;
        }
    }
}
