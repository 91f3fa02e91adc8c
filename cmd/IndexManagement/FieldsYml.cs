using System.Globalization;

namespace Shipper.IndexManagement;

/// <summary>
/// Loads fields.yml (embedded in the shipper binary as the resource <c>fields.yml</c>): a list of keys, each
/// with <c>fields</c>. Errors name the file, line and column.
/// </summary>
public static class FieldsYml
{
    public const string ResourceName = "fields.yml";

    private static readonly HashSet<string> KnownTypes = new(StringComparer.Ordinal)
    {
        "", "keyword", "constant_keyword", "wildcard", "text", "match_only_text", "long", "integer", "short", "byte",
        "double", "float", "half_float", "scaled_float", "unsigned_long", "date", "date_nanos", "boolean", "ip",
        "geo_point", "object", "nested", "group", "alias", "array", "flattened", "binary", "version", "histogram",
    };

    private static IReadOnlyList<FieldDefinition>? _embedded;

    /// <summary>The fields of the fields.yml built into this binary.</summary>
    public static IReadOnlyList<FieldDefinition> Embedded()
    {
        if (_embedded is not null)
        {
            return _embedded;
        }

        using var stream = typeof(FieldsYml).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException("fields.yml is not embedded in this binary (EmbeddedResource LogicalName=fields.yml)");
        using var reader = new StreamReader(stream);
        _embedded = Parse(reader.ReadToEnd(), ResourceName);
        return _embedded;
    }

    /// <summary>Parses a fields.yml text; returns the fields of all keys in order.</summary>
    public static IReadOnlyList<FieldDefinition> Parse(string yaml, string source)
    {
        var root = YamlReader.Read(yaml, source);
        if (root.List is null)
        {
            throw root.Error("fields.yml must be a list of keys (- key: …, fields: […])");
        }

        var result = new List<FieldDefinition>();
        foreach (var key in root.List)
        {
            if (key.Map is null)
            {
                throw key.Error("each entry must be a map with key, title and fields");
            }

            var fields = key.Get("fields");
            if (fields is null)
            {
                continue;
            }

            result.AddRange(ReadFields(fields));
        }

        return result;
    }

    private static List<FieldDefinition> ReadFields(YamlValue list)
    {
        if (list.List is null)
        {
            throw list.Error("'fields' must be a list");
        }

        var result = new List<FieldDefinition>(list.List.Count);
        foreach (var item in list.List)
        {
            result.Add(ReadField(item));
        }

        return result;
    }

    private static FieldDefinition ReadField(YamlValue node)
    {
        if (node.Map is null)
        {
            throw node.Error("a field must be a map with at least a name");
        }

        var name = String(node, "name");
        if (string.IsNullOrWhiteSpace(name))
        {
            throw node.Error("a field needs a name");
        }

        var type = String(node, "type") ?? "";
        if (!KnownTypes.Contains(type))
        {
            throw (node.Get("type") ?? node).Error($"field '{name}' has the unknown type '{type}'");
        }

        var children = node.Get("fields") is { } f ? ReadFields(f) : new List<FieldDefinition>();
        if (children.Count > 0 && type is not ("group" or "nested" or "object"))
        {
            throw node.Error($"field '{name}' has sub-fields but its type is '{type}' (use type: group)");
        }

        var multi = node.Get("multi_fields") is { } m ? ReadFields(m) : new List<FieldDefinition>();
        if (type == "alias" && String(node, "path") is null)
        {
            throw node.Error($"alias field '{name}' needs a path");
        }

        return new FieldDefinition
        {
            Name = name,
            Type = type,
            Description = String(node, "description"),
            IgnoreAbove = Int(node, "ignore_above") ?? 0,
            MultiFields = multi,
            Fields = children,
            ObjectType = String(node, "object_type"),
            ObjectTypeMappingType = String(node, "object_type_mapping_type"),
            Index = Bool(node, "index"),
            DocValues = Bool(node, "doc_values"),
            Enabled = Bool(node, "enabled"),
            Dynamic = String(node, "dynamic"),
            DefaultField = Bool(node, "default_field"),
            Norms = Bool(node, "norms") ?? false,
            ScalingFactor = Int(node, "scaling_factor"),
            Format = String(node, "format"),
            Path = String(node, "path"),
            CopyTo = String(node, "copy_to"),
            Analyzer = String(node, "analyzer"),
            SearchAnalyzer = String(node, "search_analyzer"),
            Where = node.Where,
        };
    }

    private static string? String(YamlValue node, string key)
    {
        var value = node.Get(key);
        if (value is null)
        {
            return null;
        }

        if (value.Scalar is null)
        {
            throw value.Error($"'{key}' must be a single value");
        }

        return value.Scalar;
    }

    private static int? Int(YamlValue node, string key)
    {
        var text = String(node, key);
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw node.Get(key)!.Error($"'{key}' must be a whole number, got '{text}'");
        }

        return value;
    }

    private static bool? Bool(YamlValue node, string key)
    {
        var text = String(node, key);
        return text switch
        {
            null => null,
            "true" => true,
            "false" => false,
            _ => throw node.Get(key)!.Error($"'{key}' must be true or false, got '{text}'"),
        };
    }
}
