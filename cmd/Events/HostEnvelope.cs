using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Shipper.Module.Config;

namespace Shipper.Events;

/// <summary>
/// Builds the <c>host</c> object every document carries, in libbeat's order of steps: custom
/// <c>fields_under_root</c> host.* keys first, then the pipeline's built-in <c>host.name</c> (the top-level
/// <c>name</c>, else the host name) where the custom keys lack one, then — when <c>add_host_metadata</c> is
/// configured — the host data, merged leaf by leaf over what is there (<c>replace_fields: true</c>), or
/// only when what is there is a lone host.name (<c>replace_fields: false</c>). Without the processor the
/// document carries the built-in host.name and the custom keys only, as libbeat's do.
/// Immutable and thread-safe; <see cref="Encode"/> runs once per host re-read, not per document.
/// </summary>
public sealed class HostEnvelope
{
    private readonly string _builtinName;
    private readonly byte[]? _customHost;

    public HostEnvelope(string builtinName, HostMetadataSettings? metadata, ConfigNode? customHost)
    {
        _builtinName = builtinName;
        Metadata = metadata;
        if (customHost is not null)
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                DocumentWriter.WriteNode(writer, customHost);
            }

            _customHost = buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>The add_host_metadata settings; null when the processor is not configured.</summary>
    public HostMetadataSettings? Metadata { get; }

    /// <summary>The encoded host object for documents written while <paramref name="host"/> is current.</summary>
    public byte[] Encode(HostInfo host)
    {
        JsonNode? current = _customHost is null ? null : JsonNode.Parse(_customHost);
        if (current is null)
        {
            current = new JsonObject { ["name"] = _builtinName };
        }
        else if (current is JsonObject custom && !custom.ContainsKey("name"))
        {
            custom["name"] = _builtinName; // the built-in field never overwrites a custom one
        }

        if (Metadata is { } settings && (settings.ReplaceFields || !HoldsMoreThanName(current)))
        {
            current = DeepUpdate(current, HostObject(host, settings));
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            current.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The host data add_host_metadata adds, in libbeat's field set.</summary>
    private static JsonObject HostObject(HostInfo host, HostMetadataSettings settings)
    {
        var os = new JsonObject
        {
            ["type"] = host.OsType,
            ["family"] = host.OsFamily,
            ["name"] = host.OsName,
            ["version"] = host.OsVersion,
            ["platform"] = host.OsPlatform,
            ["kernel"] = host.OsKernel,
        };
        if (host.OsCodename.Length > 0)
        {
            os["codename"] = host.OsCodename;
        }

        if (host.OsBuild.Length > 0)
        {
            os["build"] = host.OsBuild;
        }

        var result = new JsonObject { ["name"] = settings.Name ?? host.Name, ["hostname"] = host.Hostname };
        if (host.Id.Length > 0)
        {
            result["id"] = host.Id;
        }

        result["architecture"] = host.Architecture;
        result["os"] = os;
        if (host.Containerized is { } containerized)
        {
            result["containerized"] = containerized;
        }

        if (settings.NetInfo)
        {
            if (host.Network.Ip.Count > 0)
            {
                result["ip"] = StringArray(host.Network.Ip);
            }

            if (host.Network.Mac.Count > 0)
            {
                result["mac"] = StringArray(host.Network.Mac);
            }
        }

        if (settings.Geo.Count > 0)
        {
            var geo = new JsonObject();
            foreach (var (key, value) in settings.Geo)
            {
                geo[key] = value;
            }

            result["geo"] = geo;
        }

        return result;
    }

    private static JsonArray StringArray(IReadOnlyList<string> values)
    {
        var array = new JsonArray();
        foreach (var value in values)
        {
            array.Add((JsonNode)value);
        }

        return array;
    }

    /// <summary>libbeat's replace_fields: false test: a host object with any key besides name is left alone.</summary>
    private static bool HoldsMoreThanName(JsonNode current) =>
        current is JsonObject map && !(map.Count == 1 && map.ContainsKey("name"));

    /// <summary>Objects merge key by key; any other value of <paramref name="source"/> replaces what is there.</summary>
    private static JsonNode DeepUpdate(JsonNode target, JsonObject source)
    {
        if (target is not JsonObject map)
        {
            return source;
        }

        foreach (var (key, value) in source.ToArray())
        {
            source.Remove(key);
            if (value is JsonObject child && map[key] is JsonObject existing)
            {
                DeepUpdate(existing, child);
            }
            else
            {
                map[key] = value;
            }
        }

        return map;
    }
}
