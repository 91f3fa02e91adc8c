using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>
/// The part of Elasticsearch's mapping rules the loopback server enforces: a template's mappings must use
/// known field types with parameters those types accept (as ES's mapper parsing does), and documents must
/// fit the mapped types of their fields (long, date, boolean, ip).
/// </summary>
public sealed class LoopbackMappings
{
    private static readonly Dictionary<string, string[]> Parameters = new()
    {
        ["keyword"] = new[] { "ignore_above", "fields", "index", "doc_values", "copy_to", "null_value", "normalizer", "store", "meta" },
        ["constant_keyword"] = new[] { "value", "meta" },
        ["wildcard"] = new[] { "ignore_above", "null_value", "fields", "meta" },
        ["text"] = new[] { "norms", "analyzer", "search_analyzer", "fields", "index", "copy_to", "store", "meta", "fielddata" },
        ["match_only_text"] = new[] { "fields", "meta" },
        ["long"] = new[] { "index", "doc_values", "coerce", "null_value", "store", "ignore_malformed", "meta", "copy_to" },
        ["integer"] = new[] { "index", "doc_values", "coerce", "null_value", "store", "ignore_malformed", "meta", "copy_to" },
        ["short"] = new[] { "index", "doc_values", "coerce", "null_value", "store", "ignore_malformed", "meta" },
        ["byte"] = new[] { "index", "doc_values", "coerce", "null_value", "store", "ignore_malformed", "meta" },
        ["double"] = new[] { "index", "doc_values", "coerce", "null_value", "store", "ignore_malformed", "meta" },
        ["float"] = new[] { "index", "doc_values", "coerce", "null_value", "store", "ignore_malformed", "meta" },
        ["half_float"] = new[] { "index", "doc_values", "coerce", "null_value", "store", "ignore_malformed", "meta" },
        ["scaled_float"] = new[] { "scaling_factor", "index", "doc_values", "coerce", "null_value", "store", "meta" },
        ["unsigned_long"] = new[] { "index", "doc_values", "null_value", "meta" },
        ["date"] = new[] { "format", "index", "doc_values", "null_value", "store", "ignore_malformed", "meta", "locale" },
        ["date_nanos"] = new[] { "format", "index", "doc_values", "null_value", "store", "ignore_malformed", "meta" },
        ["boolean"] = new[] { "index", "doc_values", "null_value", "store", "meta" },
        ["ip"] = new[] { "index", "doc_values", "null_value", "store", "ignore_malformed", "meta" },
        ["geo_point"] = new[] { "ignore_malformed", "null_value", "index", "doc_values", "meta" },
        ["flattened"] = new[] { "ignore_above", "index", "doc_values", "meta" },
        ["binary"] = new[] { "doc_values", "store" },
        ["version"] = new[] { "meta" },
        ["alias"] = new[] { "path" },
        ["object"] = new[] { "properties", "dynamic", "enabled", "subobjects" },
        ["nested"] = new[] { "properties", "dynamic", "include_in_parent", "include_in_root" },
    };

    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);

    private LoopbackMappings()
    {
    }

    /// <summary>Field path → mapped type, for the leaves of the mapping.</summary>
    public IReadOnlyDictionary<string, string> Types => _types;

    /// <summary>Reads and validates <c>template.mappings</c>; the error text is what ES would say.</summary>
    public static LoopbackMappings Parse(JsonObject? mappings)
    {
        var result = new LoopbackMappings();
        if (mappings?["properties"] is JsonObject properties)
        {
            result.Walk(properties, "");
        }

        return result;
    }

    private void Walk(JsonObject properties, string prefix)
    {
        foreach (var (name, value) in properties)
        {
            var path = prefix.Length == 0 ? name : prefix + "." + name;
            if (value is not JsonObject field)
            {
                throw new MappingException($"Expected map for property [fields] on field [{path}] but got a class java.lang.String");
            }

            var type = (string?)field["type"] ?? (field.ContainsKey("properties") ? "object" : "object");
            if (!Parameters.TryGetValue(type, out var allowed))
            {
                throw new MappingException($"No handler for type [{type}] declared on field [{name}]");
            }

            foreach (var (parameter, _) in field)
            {
                if (parameter != "type" && Array.IndexOf(allowed, parameter) < 0)
                {
                    throw new MappingException($"unknown parameter [{parameter}] on mapper [{name}] of type [{type}]");
                }
            }

            if (field["properties"] is JsonObject children)
            {
                Walk(children, path);
            }
            else if (type is not ("object" or "nested"))
            {
                _types[path] = type;
            }

            if (field["fields"] is JsonObject multi)
            {
                foreach (var (subName, subValue) in multi)
                {
                    if (subValue is not JsonObject sub || (string?)sub["type"] is not { } subType || !Parameters.ContainsKey(subType))
                    {
                        throw new MappingException($"No handler for type [{(subValue as JsonObject)?["type"]}] declared on field [{subName}]");
                    }
                }
            }
        }
    }

    /// <summary>Null when the document fits the mapping, else ES's reason.</summary>
    public string? Check(JsonElement document, string id)
    {
        return CheckObject(document, "", id);
    }

    private string? CheckObject(JsonElement element, string prefix, string id)
    {
        foreach (var property in element.EnumerateObject())
        {
            var path = prefix.Length == 0 ? property.Name : prefix + "." + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                var inner = CheckObject(property.Value, path, id);
                if (inner is not null)
                {
                    return inner;
                }

                continue;
            }

            if (!_types.TryGetValue(path, out var type))
            {
                continue;
            }

            var values = property.Value.ValueKind == JsonValueKind.Array ? property.Value.EnumerateArray().ToArray() : new[] { property.Value };
            foreach (var value in values)
            {
                if (!Fits(type, value))
                {
                    var preview = value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
                    return $"[1:{path.Length + 2}] failed to parse field [{path}] of type [{type}] in document with id '{id}'. Preview of field's value: '{preview}'";
                }
            }
        }

        return null;
    }

    private static bool Fits(string type, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        switch (type)
        {
            case "long" or "integer" or "short" or "byte":
                return value.ValueKind == JsonValueKind.Number ? value.TryGetInt64(out _) || value.TryGetDouble(out _)
                    : value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
            case "date" or "date_nanos":
                return value.ValueKind == JsonValueKind.Number
                    || (value.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _));
            case "boolean":
                return value.ValueKind is JsonValueKind.True or JsonValueKind.False
                    || (value.ValueKind == JsonValueKind.String && value.GetString() is "true" or "false" or "");
            case "ip":
                return value.ValueKind == JsonValueKind.String && global::System.Net.IPAddress.TryParse(value.GetString(), out _);
            default:
                return true;
        }
    }
}
