using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary>Applies <c>-E key=value</c> overrides on top of the loaded file; each wins over the file.</summary>
public static class ConfigOverrides
{
    public static void Apply(ConfigMap root, IReadOnlyList<string> overrides, YamlConfigLoader loader)
    {
        foreach (var item in overrides)
        {
            var eq = item.IndexOf('=');
            if (eq <= 0)
            {
                throw new ConfigException("", new SourceLocation("-E " + item, 0, 0), $"-E expects key=value, got '{item}'");
            }

            var key = item[..eq].Trim();
            var source = "-E " + key;
            var depth = key.Split('.').Length;
            if (depth > ConfigLimits.MaxDepth)
            {
                throw YamlConfigLoader.TooDeep(key, new SourceLocation(source, 0, 0));
            }

            var value = loader.LoadValue(item[(eq + 1)..], key, source, depth);
            Set(root, key, value, source);
        }
    }

    private static void Set(ConfigMap root, string key, ConfigNode value, string source)
    {
        var parts = key.Split('.');
        ConfigNode current = root;
        var path = "";
        for (var i = 0; i < parts.Length - 1; i++)
        {
            var part = parts[i];
            path = ConfigNode.Join(path, part);
            switch (current)
            {
                case ConfigMap map:
                    var next = map.Get(part);
                    if (next is not ConfigMap and not ConfigList)
                    {
                        next = new ConfigMap(path, new SourceLocation(source, 0, 0));
                        map.Set(part, next);
                    }

                    current = next;
                    break;
                case ConfigList list when int.TryParse(part, out var index) && index >= 0 && index < list.Items.Count:
                    current = list.Items[index];
                    break;
                default:
                    throw new ConfigException(path, new SourceLocation(source, 0, 0), $"cannot set '{key}': '{path}' is {current.KindName}");
            }
        }

        var last = parts[^1];
        switch (current)
        {
            case ConfigMap map:
                YamlConfigLoader.Override(map, last, value);
                break;
            case ConfigList list when int.TryParse(last, out var index) && index >= 0 && index < list.Items.Count:
                list.Items[index] = value;
                break;
            default:
                throw new ConfigException(key, new SourceLocation(source, 0, 0), $"cannot set '{key}': its parent is {current.KindName}");
        }
    }
}
