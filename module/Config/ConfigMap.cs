namespace Shipper.Module.Config;

/// <summary>A mapping with keys in the order they were written. Dotted keys are already split into nested maps.</summary>
public sealed class ConfigMap : ConfigNode
{
    private readonly List<KeyValuePair<string, ConfigNode>> _entries = new();

    public ConfigMap(string path, SourceLocation location)
        : base(path, location)
    {
    }

    public override string KindName => "a map";

    public IReadOnlyList<KeyValuePair<string, ConfigNode>> Entries => _entries;

    public int Count => _entries.Count;

    public ConfigNode? Get(string key)
    {
        foreach (var entry in _entries)
        {
            if (entry.Key == key)
            {
                return entry.Value;
            }
        }

        return null;
    }

    /// <summary>Adds or replaces a key. A later value wins, as with repeated keys and -E overrides.</summary>
    public void Set(string key, ConfigNode value)
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

    public bool Remove(string key)
    {
        for (var i = 0; i < _entries.Count; i++)
        {
            if (_entries[i].Key == key)
            {
                _entries.RemoveAt(i);
                return true;
            }
        }

        return false;
    }
}
