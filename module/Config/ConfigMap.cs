namespace Shipper.Module.Config;

/// <summary>
/// A mapping with keys in the order they were written. Dotted keys are already split into nested maps. Keys
/// are also indexed, so building or reading a map of many keys (a large <c>fields</c> map) stays linear.
/// </summary>
public sealed class ConfigMap : ConfigNode
{
    private readonly List<KeyValuePair<string, ConfigNode>> _entries = new();
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public ConfigMap(string path, SourceLocation location)
        : base(path, location)
    {
    }

    public override string KindName => "a map";

    public IReadOnlyList<KeyValuePair<string, ConfigNode>> Entries => _entries;

    public int Count => _entries.Count;

    public ConfigNode? Get(string key) => _index.TryGetValue(key, out var i) ? _entries[i].Value : null;

    /// <summary>Adds or replaces a key. A later value wins, as with -E overrides.</summary>
    public void Set(string key, ConfigNode value)
    {
        if (_index.TryGetValue(key, out var i))
        {
            _entries[i] = new(key, value);
            return;
        }

        _index.Add(key, _entries.Count);
        _entries.Add(new(key, value));
    }

    public bool Remove(string key)
    {
        if (!_index.Remove(key, out var removed))
        {
            return false;
        }

        _entries.RemoveAt(removed);
        for (var i = removed; i < _entries.Count; i++)
        {
            _index[_entries[i].Key] = i;
        }

        return true;
    }
}
