using System.Buffers;
using System.Text.Json;
using Shipper.Module.Config;
using Shipper.Module.Registry;

namespace Shipper.Events;

/// <summary>
/// Writes complete ECS documents: the envelope every document shares (agent, host, ecs, tags, fields) is
/// encoded once at start and copied as raw bytes; per event only @timestamp, the event object and the
/// dataset's fields are encoded. The host part is re-encoded when the host data is re-read
/// (<see cref="SetHost"/>) and swapped atomically. <c>@metadata</c> (beat, type, version) is not part of the
/// document, as in libbeat: <see cref="Write"/> gives what Elasticsearch indexes and the disk queue stores, and
/// <see cref="WriteWithMetadata"/> what the console shows, with <c>@metadata</c> right after <c>@timestamp</c>.
/// Writing is thread-safe.
/// </summary>
public sealed class DocumentWriter
{
    private static readonly JsonEncodedText TimestampKey = JsonEncodedText.Encode("@timestamp");
    private static readonly JsonEncodedText MetadataKey = JsonEncodedText.Encode("@metadata");
    private static readonly JsonEncodedText EventKey = JsonEncodedText.Encode("event");
    private static readonly JsonEncodedText ModuleKey = JsonEncodedText.Encode("module");
    private static readonly JsonEncodedText DatasetKey = JsonEncodedText.Encode("dataset");
    private static readonly JsonEncodedText ActionKey = JsonEncodedText.Encode("action");
    private static readonly JsonEncodedText KindKey = JsonEncodedText.Encode("kind");
    private static readonly JsonEncodedText CategoryKey = JsonEncodedText.Encode("category");
    private static readonly JsonEncodedText TypeKey = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText IdKey = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText ServiceKey = JsonEncodedText.Encode("service");
    private static readonly JsonEncodedText KindEvent = JsonEncodedText.Encode("event");
    private static readonly JsonEncodedText KindState = JsonEncodedText.Encode("state");

    /// <summary>
    /// Keys the envelope owns; custom fields under root must not collide with them. <c>host</c> is not one:
    /// custom host.* keys merge with the host fields (see <see cref="HostEnvelope"/>), as in libbeat.
    /// </summary>
    public static readonly string[] ReservedKeys = { "@timestamp", "@metadata", "event", "agent", "ecs", "service", "tags", "fields" };

    private static readonly JsonEncodedText TagsKey = JsonEncodedText.Encode("tags");
    private static readonly JsonEncodedText HostKey = JsonEncodedText.Encode("host");

    private readonly byte[] _metadata;
    private readonly IReadOnlyList<string> _tags;
    private readonly HostEnvelope _hostEnvelope;
    private readonly int _hostIndex;
    private readonly object _hostLock = new();

    // Swapped whole when the host fields change (add_host_metadata's cache.ttl); each document reads it once,
    // so a document never mixes two versions. Publisher workers write documents concurrently.
    private (JsonEncodedText Name, byte[] Value)[] _tail;
    private HostInfo _host;

    /// <summary>A writer with add_host_metadata at its defaults (every host field).</summary>
    public DocumentWriter(AgentInfo agent, HostInfo host, IReadOnlyList<string> tags, ConfigMap? fields, bool fieldsUnderRoot)
        : this(agent, host, tags, fields, fieldsUnderRoot, HostMetadataSettings.Default)
    {
    }

    /// <param name="hostMetadata">add_host_metadata's settings; null when the processor is not configured
    /// (documents then carry only host.name, the top-level <c>name</c> or the host name, as in libbeat).</param>
    public DocumentWriter(AgentInfo agent, HostInfo host, IReadOnlyList<string> tags, ConfigMap? fields, bool fieldsUnderRoot, HostMetadataSettings? hostMetadata)
    {
        Agent = agent;
        _host = host;
        _tags = tags;
        _hostEnvelope = new HostEnvelope(agent.Name, hostMetadata, fieldsUnderRoot ? fields?.Get("host") : null);
        _metadata = Encode(w =>
        {
            w.WriteStartObject();
            w.WriteString("beat", "shipper");
            w.WriteString("type", "_doc");
            w.WriteString("version", agent.Version);
            w.WriteEndObject();
        });

        // Everything after the dataset's fields, as one pre-encoded run of properties inside a dummy object.
        var tail = Encode(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("agent");
            w.WriteString("type", AgentInfo.Type);
            w.WriteString("name", agent.Name);
            w.WriteString("version", agent.Version);
            w.WriteString("id", agent.Id);
            w.WriteString("ephemeral_id", agent.EphemeralId);
            w.WriteEndObject();
            w.WriteStartObject("ecs");
            w.WriteString("version", BuildInfo.EcsVersion);
            w.WriteEndObject();
            w.WriteNull(HostKey); // a placeholder: the host object is encoded apart and swapped on re-reads
            if (tags.Count > 0)
            {
                w.WriteStartArray("tags");
                foreach (var tag in tags)
                {
                    w.WriteStringValue(tag);
                }

                w.WriteEndArray();
            }

            if (fields is { Count: > 0 })
            {
                if (fieldsUnderRoot)
                {
                    WriteMapEntries(w, fields, skip: "host");
                }
                else
                {
                    w.WritePropertyName("fields");
                    WriteNode(w, fields);
                }
            }

            w.WriteEndObject();
        });

        _tail = SplitProperties(tail);
        _hostIndex = Array.FindIndex(_tail, p => p.Name.Equals(HostKey));
        _tail[_hostIndex].Value = _hostEnvelope.Encode(host);
    }

    public AgentInfo Agent { get; }

    /// <summary>The host data the documents are written with now.</summary>
    public HostInfo Host => Volatile.Read(ref _host);

    /// <summary>The encoded host object documents are written with now.</summary>
    private ReadOnlyMemory<byte> HostJson => Volatile.Read(ref _tail)[_hostIndex].Value;

    /// <summary>
    /// Documents written from now on carry <paramref name="host"/>: the host object is encoded once and the
    /// envelope swapped whole, so a document being written keeps the one it started with. Safe to call from
    /// any thread; returns whether the host object changed.
    /// </summary>
    public bool SetHost(HostInfo host)
    {
        var encoded = _hostEnvelope.Encode(host);
        lock (_hostLock)
        {
            Volatile.Write(ref _host, host);
            var current = Volatile.Read(ref _tail);
            if (current[_hostIndex].Value.AsSpan().SequenceEqual(encoded))
            {
                return false;
            }

            var next = ((JsonEncodedText, byte[])[])current.Clone();
            next[_hostIndex].Item2 = encoded;
            Volatile.Write(ref _tail, next);
            return true;
        }
    }

    /// <summary>
    /// The value of a host.* field when no document can carry another one (no add_host_metadata: nothing
    /// re-reads the host), for index names bound at start; null means "look it up in each document".
    /// </summary>
    public string? ConstantHostField(string path)
    {
        if (_hostEnvelope.Metadata is not null || !path.StartsWith("host.", StringComparison.Ordinal))
        {
            return null;
        }

        var json = HostJson.Span;
        var wrapped = new byte[json.Length + 9];
        "{\"host\":"u8.CopyTo(wrapped);
        json.CopyTo(wrapped.AsSpan(8));
        wrapped[^1] = (byte)'}';
        return Outputs.Elasticsearch.JsonFieldLookup.TryGetString(wrapped, path, out var value) ? value : null;
    }

    /// <summary>
    /// Writes one document as a single JSON object, as Elasticsearch indexes it (no <c>@metadata</c>);
    /// <c>service.type</c> is the event's module, as in beats.
    /// </summary>
    public void Write(Utf8JsonWriter writer, Event evt)
    {
        if (evt.Body is EncodedDocument encoded)
        {
            WriteEncoded(writer, encoded.Json.Span);
            return;
        }

        WriteLive(writer, evt, withMetadata: false);
    }

    /// <summary>
    /// Writes one document with <c>@metadata</c> after <c>@timestamp</c>, as libbeat's console codec does. A
    /// document from the disk queue gets this run's <c>@metadata</c>, as libbeat's codec adds the running
    /// beat's version to whatever event it encodes.
    /// </summary>
    public void WriteWithMetadata(Utf8JsonWriter writer, Event evt)
    {
        if (evt.Body is EncodedDocument encoded)
        {
            WriteEncodedWithMetadata(writer, encoded.Json.Span);
            return;
        }

        WriteLive(writer, evt, withMetadata: true);
    }

    private void WriteLive(Utf8JsonWriter writer, Event evt, bool withMetadata)
    {
        writer.WriteStartObject();
        writer.WritePropertyName(TimestampKey);
        WriteTimestamp(writer, evt.Timestamp);
        if (withMetadata)
        {
            writer.WritePropertyName(MetadataKey);
            writer.WriteRawValue(_metadata, skipInputValidation: true);
        }

        writer.WriteStartObject(EventKey);
        writer.WriteString(ActionKey, evt.Action);
        writer.WriteStartArray(CategoryKey);
        foreach (var category in evt.Categories)
        {
            writer.WriteStringValue(category);
        }

        writer.WriteEndArray();
        writer.WriteStartArray(TypeKey);
        foreach (var type in evt.Types)
        {
            writer.WriteStringValue(type);
        }

        writer.WriteEndArray();
        writer.WriteString(KindKey, evt.Kind == EventKind.State ? KindState : KindEvent);
        if (evt.Id is not null)
        {
            writer.WriteString(IdKey, evt.Id);
        }

        writer.WriteString(ModuleKey, evt.Module);
        writer.WriteString(DatasetKey, evt.Dataset);
        writer.WriteEndObject();

        writer.WriteStartObject(ServiceKey);
        writer.WriteString(TypeKey, evt.Module);
        writer.WriteEndObject();

        evt.Body.WriteFields(writer);

        var ownTags = evt.Body.Tags is { Count: > 0 } t ? t : null;
        foreach (var (name, value) in Volatile.Read(ref _tail))
        {
            if (ownTags is not null && name.Equals(TagsKey))
            {
                WriteTags(writer, ownTags);
                ownTags = null;
                continue;
            }

            writer.WritePropertyName(name);
            writer.WriteRawValue(value, skipInputValidation: true);
        }

        if (ownTags is not null)
        {
            WriteTags(writer, ownTags); // no configured tags: the document's own are all there is
        }

        writer.WriteEndObject();
    }

    /// <summary>The configured tags, then the document's own (rare: the pre-encoded array serves every other document).</summary>
    private void WriteTags(Utf8JsonWriter writer, IReadOnlyList<string> ownTags)
    {
        writer.WriteStartArray(TagsKey);
        foreach (var tag in _tags)
        {
            writer.WriteStringValue(tag);
        }

        foreach (var tag in ownTags)
        {
            writer.WriteStringValue(tag);
        }

        writer.WriteEndArray();
    }

    /// <summary>
    /// A stored document is copied as it is when the writer encodes as it was stored (compact, relaxed
    /// escaping); an indented writer or one escaping HTML gets it re-encoded its own way.
    /// </summary>
    private static void WriteEncoded(Utf8JsonWriter writer, ReadOnlySpan<byte> json)
    {
        if (WritesAsStored(writer))
        {
            writer.WriteRawValue(json, skipInputValidation: true);
            return;
        }

        var reader = new Utf8JsonReader(json);
        using var document = JsonDocument.ParseValue(ref reader);
        document.WriteTo(writer);
    }

    /// <summary>
    /// A stored document starts <c>{"@timestamp":"…"</c> (the writer puts it first, and its value has nothing
    /// to escape): <c>@metadata</c> is spliced in after it with two copies, not a parse. Anything else (an
    /// indented writer, a document not shaped so) is re-encoded property by property.
    /// </summary>
    private void WriteEncodedWithMetadata(Utf8JsonWriter writer, ReadOnlySpan<byte> json)
    {
        if (WritesAsStored(writer) && TimestampEnd(json) is var cut and > 0)
        {
            var length = json.Length + MetadataPrefix.Length + _metadata.Length;
            var rented = ArrayPool<byte>.Shared.Rent(length);
            var spliced = rented.AsSpan(0, length);
            json[..cut].CopyTo(spliced);
            MetadataPrefix.CopyTo(spliced[cut..]);
            _metadata.CopyTo(spliced[(cut + MetadataPrefix.Length)..]);
            json[cut..].CopyTo(spliced[(cut + MetadataPrefix.Length + _metadata.Length)..]);
            writer.WriteRawValue(spliced, skipInputValidation: true);
            ArrayPool<byte>.Shared.Return(rented);
            return;
        }

        var reader = new Utf8JsonReader(json);
        using var document = JsonDocument.ParseValue(ref reader);
        writer.WriteStartObject();
        var written = false;
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (property.NameEquals("@metadata"))
            {
                continue; // a document stored with its own: this run's replaces it
            }

            property.WriteTo(writer);
            if (!written && property.NameEquals("@timestamp"))
            {
                writer.WritePropertyName(MetadataKey);
                writer.WriteRawValue(_metadata, skipInputValidation: true);
                written = true;
            }
        }

        if (!written)
        {
            writer.WritePropertyName(MetadataKey);
            writer.WriteRawValue(_metadata, skipInputValidation: true);
        }

        writer.WriteEndObject();
    }

    private static ReadOnlySpan<byte> MetadataPrefix => ",\"@metadata\":"u8;

    /// <summary>Where the leading <c>"@timestamp":"…"</c> property ends (the index after its closing quote), or 0.</summary>
    private static int TimestampEnd(ReadOnlySpan<byte> json)
    {
        var prefix = "{\"@timestamp\":\""u8;
        if (!json.StartsWith(prefix))
        {
            return 0;
        }

        var close = json[prefix.Length..].IndexOfAny((byte)'"', (byte)'\\');
        if (close < 0 || json[prefix.Length + close] != (byte)'"')
        {
            return 0;
        }

        var end = prefix.Length + close + 1;
        return end < json.Length && json[end] is (byte)',' or (byte)'}' ? end : 0;
    }

    /// <summary>Whether the writer encodes as the disk queue stored documents: compact, relaxed escaping.</summary>
    private static bool WritesAsStored(Utf8JsonWriter writer) =>
        !writer.Options.Indented && ReferenceEquals(writer.Options.Encoder, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping);

    /// <summary>Splits an encoded object into its top-level properties, each value kept as raw bytes.</summary>
    private static (JsonEncodedText, byte[])[] SplitProperties(byte[] encodedObject)
    {
        var result = new List<(JsonEncodedText, byte[])>();
        var reader = new Utf8JsonReader(encodedObject);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = JsonEncodedText.Encode(reader.GetString()!);
            reader.Read();
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var end = (int)reader.BytesConsumed;
            result.Add((name, encodedObject.AsSpan(start, end - start).ToArray()));
        }

        return result.ToArray();
    }

    /// <summary>RFC 3339 UTC with milliseconds, as beats write @timestamp.</summary>
    public static void WriteTimestamp(Utf8JsonWriter writer, DateTime timestamp)
    {
        Span<byte> buffer = stackalloc byte[40];
        var utc = timestamp.Kind == DateTimeKind.Local ? timestamp.ToUniversalTime() : timestamp;

        // "O" (yyyy-MM-ddTHH:mm:ss.fffffff…) is formatted without parsing a pattern, unlike a custom format
        // string, once per document: keep its first 23 characters (milliseconds) and mark the time UTC.
        utc.TryFormat(buffer, out _, "O", System.Globalization.CultureInfo.InvariantCulture);
        buffer[23] = (byte)'Z';
        writer.WriteStringValue(buffer[..24]);
    }

    private static byte[] Encode(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteMapEntries(Utf8JsonWriter writer, ConfigMap map, string? skip = null)
    {
        foreach (var (key, value) in map.Entries)
        {
            if (key == skip)
            {
                continue;
            }

            writer.WritePropertyName(key);
            WriteNode(writer, value);
        }
    }

    /// <summary>Custom fields keep YAML's typing: plain true/false, numbers and null are typed; the rest are strings.</summary>
    public static void WriteNode(Utf8JsonWriter writer, ConfigNode node)
    {
        switch (node)
        {
            case ConfigMap map:
                writer.WriteStartObject();
                WriteMapEntries(writer, map);
                writer.WriteEndObject();
                break;
            case ConfigList list:
                writer.WriteStartArray();
                foreach (var item in list.Items)
                {
                    WriteNode(writer, item);
                }

                writer.WriteEndArray();
                break;
            case ConfigScalar scalar:
                WriteScalar(writer, scalar);
                break;
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, ConfigScalar scalar)
    {
        if (!scalar.IsQuoted)
        {
            if (scalar.IsNull)
            {
                writer.WriteNullValue();
                return;
            }

            if (scalar.Value is "true" or "false")
            {
                writer.WriteBooleanValue(scalar.Value == "true");
                return;
            }

            if (long.TryParse(scalar.Value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l))
            {
                writer.WriteNumberValue(l);
                return;
            }

            if (double.TryParse(scalar.Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
            {
                writer.WriteNumberValue(d);
                return;
            }
        }

        writer.WriteStringValue(scalar.Value);
    }
}
