using System.Text.Json;

namespace Shipper.IndexManagement;

/// <summary>
/// An ordered JSON object assembled in memory (template mappings and settings must be merged from many
/// definitions before they can be written). Values are string, long, double, bool, null,
/// <see cref="JsonObjectTree"/> or a list of those. Written with <see cref="Utf8JsonWriter"/>; no reflection.
/// </summary>
public sealed class JsonObjectTree
{
    private readonly List<KeyValuePair<string, object?>> _entries = new();

    public IReadOnlyList<KeyValuePair<string, object?>> Entries => _entries;

    public int Count => _entries.Count;

    public object? this[string key]
    {
        get => TryGet(key, out var value) ? value : null;
        set => Set(key, value);
    }

    public bool TryGet(string key, out object? value)
    {
        foreach (var entry in _entries)
        {
            if (entry.Key == key)
            {
                value = entry.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    public bool ContainsKey(string key) => TryGet(key, out _);

    public void Set(string key, object? value)
    {
        for (var i = 0; i < _entries.Count; i++)
        {
            if (_entries[i].Key == key)
            {
                _entries[i] = new(key, value);
                return;
            }
        }

        _entries.Add(new(key, value));
    }

    /// <summary>The object under <paramref name="key"/>, created when missing (or replacing a non-object).</summary>
    public JsonObjectTree Object(string key)
    {
        if (TryGet(key, out var existing) && existing is JsonObjectTree tree)
        {
            return tree;
        }

        var created = new JsonObjectTree();
        Set(key, created);
        return created;
    }

    /// <summary>Sets a value at a dotted path, creating objects on the way (<c>mapping.total_fields.limit</c>).</summary>
    public void SetPath(string dottedPath, object? value)
    {
        var node = this;
        var parts = dottedPath.Split('.');
        for (var i = 0; i < parts.Length - 1; i++)
        {
            node = node.Object(parts[i]);
        }

        node.Set(parts[^1], value);
    }

    /// <summary>Merges <paramref name="other"/> into this object: objects merge key by key, everything else replaces.</summary>
    public void DeepMerge(JsonObjectTree other)
    {
        foreach (var (key, value) in other._entries)
        {
            if (value is JsonObjectTree incoming && TryGet(key, out var existing) && existing is JsonObjectTree current)
            {
                current.DeepMerge(incoming);
            }
            else
            {
                Set(key, value);
            }
        }
    }

    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (key, value) in _entries)
        {
            writer.WritePropertyName(key);
            WriteValue(writer, value);
        }

        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case int i:
                writer.WriteNumberValue(i);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case double d:
                writer.WriteNumberValue(d);
                break;
            case JsonObjectTree tree:
                tree.WriteTo(writer);
                break;
            case IEnumerable<object?> list:
                writer.WriteStartArray();
                foreach (var item in list)
                {
                    WriteValue(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                throw new InvalidOperationException($"cannot write a {value.GetType().Name} as JSON");
        }
    }
}
