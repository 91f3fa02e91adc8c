namespace Shipper.Module.Config;

/// <summary>
/// Remembers which settings some component read, so that whatever nobody read can be reported as an
/// unknown key (a typo must never be silently ignored).
/// </summary>
public sealed class ConfigReadTracker
{
    private readonly HashSet<ConfigNode> _consumed = new(ReferenceEqualityComparer.Instance);

    public void MarkConsumed(ConfigNode node) => _consumed.Add(node);

    public bool IsConsumed(ConfigNode node) => _consumed.Contains(node);

    /// <summary>Throws for the first node below <paramref name="root"/> that nothing consumed.</summary>
    public void EnsureAllConsumed(ConfigNode root)
    {
        var unknown = FindUnconsumed(root);
        if (unknown is not null)
        {
            throw unknown.Error($"unknown setting '{unknown.Path}'");
        }
    }

    private ConfigNode? FindUnconsumed(ConfigNode node)
    {
        // Maps and lists are containers: reading one does not make its unknown children known.
        if (_consumed.Contains(node) && node is ConfigScalar)
        {
            return null;
        }

        switch (node)
        {
            case ConfigMap map:
                foreach (var entry in map.Entries)
                {
                    var found = FindUnconsumed(entry.Value);
                    if (found is not null)
                    {
                        return found;
                    }
                }

                return null;
            case ConfigList list:
                foreach (var item in list.Items)
                {
                    var found = FindUnconsumed(item);
                    if (found is not null)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return node;
        }
    }
}
