using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Shipper.IndexManagement;

namespace Shipper.Tests.Cmd.IndexManagement;

/// <summary>
/// Checks documents against fields.yml, the exported template and <see cref="EcsReference"/>: every leaf is
/// declared, its JSON value fits the declared type, the template maps it as ECS 8.17 does, and no ECS field is
/// newer than the declared <c>ecs.version</c>.
/// </summary>
public sealed partial class DocumentFields
{
    private readonly Dictionary<string, FieldDefinition> _declared = new(StringComparer.Ordinal);
    private readonly JsonElement _properties;

    public DocumentFields(IReadOnlyList<FieldDefinition> fields, JsonElement template)
    {
        Flatten(fields, "");
        _properties = template.GetProperty("template").GetProperty("mappings").GetProperty("properties");
    }

    /// <summary>Leaf paths of fields.yml (object fields included), each with its definition.</summary>
    public IReadOnlyDictionary<string, FieldDefinition> Declared => _declared;

    /// <summary>Every leaf of a document as (dotted path, value); an array's items share its path.</summary>
    public IEnumerable<(string Path, JsonElement Value)> Leaves(JsonElement document, string prefix = "")
    {
        foreach (var property in document.EnumerateObject())
        {
            var path = prefix + property.Name;
            if (_declared.TryGetValue(path, out var field) && field.Type is "object" or "geo_point")
            {
                yield return (path, property.Value); // a dynamic object or a point: checked whole
                continue;
            }

            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var leaf in Leaves(property.Value, path + "."))
                {
                    yield return leaf;
                }
            }
            else if (property.Value.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in property.Value.EnumerateArray())
                {
                    yield return (path, item);
                }
            }
            else
            {
                yield return (path, property.Value);
            }
        }
    }

    /// <summary>What is wrong with one leaf, or null: undeclared, a value not of its type, mapped unlike ECS.</summary>
    public string? Problem(string path, JsonElement value, string ecsVersion)
    {
        if (path.StartsWith("@metadata.", StringComparison.Ordinal))
        {
            return null; // console only; never indexed
        }

        if (!_declared.TryGetValue(path, out var field))
        {
            return $"{path} is not declared in fields.yml";
        }

        var type = field.Type.Length == 0 ? "keyword" : field.Type;
        if (!Fits(type, value))
        {
            return $"{path} is declared {type} but the document has {value.GetRawText()}";
        }

        if (EcsReference.Fields.TryGetValue(path, out var ecs) && EcsReference.IsLater(ecs.Since, ecsVersion))
        {
            return $"{path} first appeared in ECS {ecs.Since}, later than the declared ecs.version {ecsVersion}";
        }

        return MappingProblem(path);
    }

    /// <summary>How the template maps <paramref name="path"/>, against ECS 8.17 (or the type beats give it).</summary>
    public string? MappingProblem(string path)
    {
        var mapping = Mapping(path);
        if (mapping is null)
        {
            return $"{path} is not mapped by the template";
        }

        var m = mapping.Value;
        var type = m.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (EcsReference.NotEcs.TryGetValue(path, out var beatsType))
        {
            return type == beatsType ? null : $"{path} is mapped {type}, expected {beatsType}";
        }

        if (!EcsReference.Fields.TryGetValue(path, out var ecs))
        {
            return $"{path} is in neither the ECS table nor the list of fields ECS does not define";
        }

        if (type != ecs.Type)
        {
            return $"{path} is mapped {type}; ECS 8.17 maps it {ecs.Type}";
        }

        int? ignoreAbove = m.TryGetProperty("ignore_above", out var ia) ? ia.GetInt32() : null;
        if (ignoreAbove != ecs.IgnoreAbove)
        {
            return $"{path} has ignore_above {ignoreAbove?.ToString(CultureInfo.InvariantCulture) ?? "unset"}; ECS 8.17: {ecs.IgnoreAbove?.ToString(CultureInfo.InvariantCulture) ?? "unset"}";
        }

        var multi = m.TryGetProperty("fields", out var f) ? f.EnumerateObject().Select(p => p.Name + ":" + p.Value.GetProperty("type").GetString()).ToArray() : Array.Empty<string>();
        var expected = ecs.Text ? new[] { "text:match_only_text" } : Array.Empty<string>();
        return multi.SequenceEqual(expected) ? null : $"{path} has multi-fields [{string.Join(", ", multi)}]; ECS 8.17: [{string.Join(", ", expected)}]";
    }

    private JsonElement? Mapping(string path)
    {
        var node = _properties;
        var parts = path.Split('.');
        for (var i = 0; i < parts.Length; i++)
        {
            if (!node.TryGetProperty(parts[i], out var child))
            {
                return null;
            }

            if (i == parts.Length - 1)
            {
                return child;
            }

            if (!child.TryGetProperty("properties", out node))
            {
                return null;
            }
        }

        return null;
    }

    private static bool Fits(string type, JsonElement value) => type switch
    {
        "keyword" or "wildcard" or "match_only_text" or "text" or "constant_keyword" => value.ValueKind == JsonValueKind.String,
        "long" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "date" => value.ValueKind == JsonValueKind.String && Rfc3339().IsMatch(value.GetString()!),
        "ip" => value.ValueKind == JsonValueKind.String && IPAddress.TryParse(value.GetString(), out _),
        "geo_point" => IsGeoPoint(value),
        "object" => value.ValueKind == JsonValueKind.Object,
        _ => false,
    };

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();

    private void Flatten(IReadOnlyList<FieldDefinition> fields, string prefix)
    {
        foreach (var field in fields)
        {
            var path = prefix + field.Name;
            if (field.Type == "group")
            {
                Flatten(field.Fields, path + ".");
            }
            else
            {
                _declared[path] = field;
            }
        }
    }

    /// <summary>
    /// A point as Elasticsearch reads one: <c>{lat, lon}</c>, or the string <c>"lat,lon"</c> (each part trimmed),
    /// which is what add_host_metadata's geo.location writes, as libbeat's does.
    /// </summary>
    private static bool IsGeoPoint(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            return value.TryGetProperty("lat", out var lat) && lat.ValueKind == JsonValueKind.Number && value.TryGetProperty("lon", out var lon) && lon.ValueKind == JsonValueKind.Number;
        }

        var parts = value.ValueKind == JsonValueKind.String ? value.GetString()!.Split(',') : Array.Empty<string>();
        return parts.Length == 2
            && double.TryParse(parts[0].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var latitude) && Math.Abs(latitude) <= 90
            && double.TryParse(parts[1].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var longitude) && Math.Abs(longitude) <= 180;
    }
}
