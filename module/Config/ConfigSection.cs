using System.Globalization;

namespace Shipper.Module.Config;

/// <summary>
/// A typed view of one map in the configuration. Keys may be dotted ("flush.min_events"); every read marks
/// the node as known so that <see cref="ConfigReadTracker.EnsureAllConsumed"/> can report typos. Every
/// error names the setting's path and its position in the file.
/// </summary>
public sealed class ConfigSection
{
    public ConfigSection(ConfigMap map, ConfigReadTracker tracker)
    {
        Map = map;
        Tracker = tracker;
    }

    public ConfigMap Map { get; }

    public ConfigReadTracker Tracker { get; }

    public string Path => Map.Path;

    public static ConfigSection Empty(string path) => new(new ConfigMap(path, SourceLocation.None), new ConfigReadTracker());

    public ConfigNode? Find(string dottedKey)
    {
        ConfigNode? node = Map;
        foreach (var part in dottedKey.Split('.'))
        {
            if (node is not ConfigMap map)
            {
                return null;
            }

            node = map.Get(part);
            if (node is null)
            {
                return null;
            }
        }

        return node;
    }

    public bool Has(string key) => Find(key) is { } node && !(node is ConfigScalar s && s.IsNull);

    /// <summary>Marks a setting (and everything below it) as known without interpreting it here.</summary>
    public ConfigNode? Consume(string key)
    {
        var node = Find(key);
        if (node is not null)
        {
            MarkTree(node);
        }

        return node;
    }

    public string String(string key, string defaultValue) => OptionalString(key) ?? defaultValue;

    public string? OptionalString(string key)
    {
        var scalar = Scalar(key);
        return scalar is null || scalar.IsNull ? null : scalar.Value;
    }

    public string Choice(string key, string defaultValue, params string[] allowed)
    {
        var scalar = Scalar(key);
        if (scalar is null || scalar.IsNull)
        {
            return defaultValue;
        }

        foreach (var option in allowed)
        {
            if (string.Equals(option, scalar.Value, StringComparison.OrdinalIgnoreCase))
            {
                return option;
            }
        }

        throw scalar.Error($"'{scalar.Value}' is not one of: {string.Join(", ", allowed)}");
    }

    public bool Bool(string key, bool defaultValue)
    {
        var scalar = Scalar(key);
        if (scalar is null || scalar.IsNull)
        {
            return defaultValue;
        }

        if (!ValueParsers.TryParseBool(scalar.Value, out var value))
        {
            throw scalar.Error($"expected true or false, got '{scalar.Value}'");
        }

        return value;
    }

    public int Int(string key, int defaultValue, int min = int.MinValue, int max = int.MaxValue) =>
        (int)Long(key, defaultValue, min, max);

    public long Long(string key, long defaultValue, long min = long.MinValue, long max = long.MaxValue)
    {
        var scalar = Scalar(key);
        if (scalar is null || scalar.IsNull)
        {
            return defaultValue;
        }

        if (!long.TryParse(scalar.Value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw scalar.Error($"expected a whole number, got '{scalar.Value}'");
        }

        CheckRange(scalar, value, min, max, value.ToString(CultureInfo.InvariantCulture));
        return value;
    }

    public double Double(string key, double defaultValue, double min = double.MinValue, double max = double.MaxValue)
    {
        var scalar = Scalar(key);
        if (scalar is null || scalar.IsNull)
        {
            return defaultValue;
        }

        if (!double.TryParse(scalar.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value))
        {
            throw scalar.Error($"expected a number, got '{scalar.Value}'");
        }

        if (value < min || value > max)
        {
            throw scalar.Error($"{value.ToString(CultureInfo.InvariantCulture)} is out of range: must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}");
        }

        return value;
    }

    public TimeSpan Duration(string key, TimeSpan defaultValue, TimeSpan? min = null, TimeSpan? max = null)
    {
        var scalar = Scalar(key);
        if (scalar is null || scalar.IsNull)
        {
            return defaultValue;
        }

        if (!ValueParsers.TryParseDuration(scalar.Value, out var value))
        {
            throw scalar.Error($"expected a duration such as 500ms, 10s or 12h, got '{scalar.Value}'");
        }

        if ((min is { } lo && value < lo) || (max is { } hi && value > hi))
        {
            throw scalar.Error($"{scalar.Value} is out of range: must be between {ValueParsers.FormatDuration(min ?? TimeSpan.Zero)} and {(max is { } m ? ValueParsers.FormatDuration(m) : "unlimited")}");
        }

        return value;
    }

    public long Size(string key, long defaultValue, long min = 0, long max = long.MaxValue)
    {
        var scalar = Scalar(key);
        if (scalar is null || scalar.IsNull)
        {
            return defaultValue;
        }

        if (!ValueParsers.TryParseSize(scalar.Value, out var value))
        {
            throw scalar.Error($"expected a size such as 1048576, 50mb or 100 MiB, got '{scalar.Value}'");
        }

        CheckRange(scalar, value, min, max, scalar.Value);
        return value;
    }

    /// <summary>A list of strings; a single scalar counts as a list of one, as in beats.</summary>
    public IReadOnlyList<string> StringList(string key, IReadOnlyList<string> defaultValue)
    {
        var node = Find(key);
        if (node is null || node is ConfigScalar { IsNull: true })
        {
            if (node is not null)
            {
                Tracker.MarkConsumed(node);
            }

            return defaultValue;
        }

        Tracker.MarkConsumed(node);
        switch (node)
        {
            case ConfigScalar scalar:
                return new[] { scalar.Value };
            case ConfigList list:
                var result = new List<string>(list.Items.Count);
                foreach (var item in list.Items)
                {
                    if (item is not ConfigScalar s)
                    {
                        throw item.Error($"expected a string, got {item.KindName}");
                    }

                    Tracker.MarkConsumed(s);
                    result.Add(s.Value);
                }

                return result;
            default:
                throw node.Error($"expected a list of strings, got {node.KindName}");
        }
    }

    /// <summary>A nested map; an absent one reads as empty so defaults apply.</summary>
    public ConfigSection Section(string key)
    {
        var node = Find(key);
        if (node is null || node is ConfigScalar { IsNull: true })
        {
            if (node is not null)
            {
                Tracker.MarkConsumed(node);
            }

            return new ConfigSection(new ConfigMap(ConfigNode.Join(Path, key), Map.Location), Tracker);
        }

        if (node is not ConfigMap map)
        {
            throw node.Error($"expected a map of settings, got {node.KindName}");
        }

        MarkPath(key);
        return new ConfigSection(map, Tracker);
    }

    public IReadOnlyList<ConfigSection> SectionList(string key)
    {
        var node = Find(key);
        if (node is null || node is ConfigScalar { IsNull: true })
        {
            return Array.Empty<ConfigSection>();
        }

        if (node is not ConfigList list)
        {
            throw node.Error($"expected a list, got {node.KindName}");
        }

        MarkPath(key);
        Tracker.MarkConsumed(list);
        var result = new List<ConfigSection>(list.Items.Count);
        foreach (var item in list.Items)
        {
            if (item is not ConfigMap map)
            {
                throw item.Error($"expected a map of settings, got {item.KindName}");
            }

            result.Add(new ConfigSection(map, Tracker));
        }

        return result;
    }

    /// <summary>A free-form map of strings to scalars (such as HTTP headers); everything below is consumed.</summary>
    public IReadOnlyDictionary<string, string> StringMap(string key)
    {
        var node = Consume(key);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is null || node is ConfigScalar { IsNull: true })
        {
            return result;
        }

        if (node is not ConfigMap map)
        {
            throw node.Error($"expected a map, got {node.KindName}");
        }

        Flatten(map, "", result);
        return result;
    }

    private static void Flatten(ConfigMap map, string prefix, Dictionary<string, string> result)
    {
        foreach (var (k, v) in map.Entries)
        {
            var name = prefix.Length == 0 ? k : prefix + "." + k;
            switch (v)
            {
                case ConfigScalar s:
                    result[name] = s.Value;
                    break;
                case ConfigMap m:
                    Flatten(m, name, result);
                    break;
                default:
                    throw v.Error($"expected a string, got {v.KindName}");
            }
        }
    }

    public ConfigException Error(string key, string problem)
    {
        var node = Find(key);
        return node is not null ? node.Error(problem) : new ConfigException(ConfigNode.Join(Path, key), Map.Location, problem);
    }

    private ConfigScalar? Scalar(string key)
    {
        var node = Find(key);
        if (node is null)
        {
            return null;
        }

        MarkPath(key);
        if (node is not ConfigScalar scalar)
        {
            throw node.Error($"expected a single value, got {node.KindName}");
        }

        return scalar;
    }

    private void MarkPath(string dottedKey)
    {
        ConfigNode? node = Map;
        foreach (var part in dottedKey.Split('.'))
        {
            if (node is not ConfigMap map)
            {
                return;
            }

            node = map.Get(part);
            if (node is null)
            {
                return;
            }

            if (node is not ConfigMap)
            {
                Tracker.MarkConsumed(node);
            }
        }
    }

    private void MarkTree(ConfigNode node)
    {
        Tracker.MarkConsumed(node);
        switch (node)
        {
            case ConfigMap map:
                foreach (var entry in map.Entries)
                {
                    MarkTree(entry.Value);
                }

                break;
            case ConfigList list:
                foreach (var item in list.Items)
                {
                    MarkTree(item);
                }

                break;
        }
    }

    private static void CheckRange(ConfigScalar scalar, long value, long min, long max, string shown)
    {
        if (value < min || value > max)
        {
            var range = max == long.MaxValue
                ? $"must be at least {min.ToString(CultureInfo.InvariantCulture)}"
                : $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}";
            throw scalar.Error($"{shown} is out of range: {range}");
        }
    }
}
