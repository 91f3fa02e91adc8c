using Shipper.Module.Config;

namespace Shipper.Tests.Module.System.Process.Hashing;

/// <summary>Builds a module entry as the YAML loader would (dotted keys split into nested maps) with file positions.</summary>
internal static class ConfigTree
{
    public static ConfigSection Section(params (string Key, object Value)[] settings)
    {
        var root = new ConfigMap("", new SourceLocation("shipper.yml", 1, 1));
        var line = 2;
        foreach (var (key, value) in settings)
        {
            var parts = key.Split('.');
            var map = root;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                var path = string.Join('.', parts, 0, i + 1);
                if (map.Get(parts[i]) is not ConfigMap child)
                {
                    child = new ConfigMap(path, new SourceLocation("shipper.yml", line, 1));
                    map.Set(parts[i], child);
                }

                map = child;
            }

            var location = new SourceLocation("shipper.yml", line++, 3);
            ConfigNode node;
            if (value is string[] items)
            {
                var list = new ConfigList(key, location);
                for (var i = 0; i < items.Length; i++)
                {
                    list.Items.Add(new ConfigScalar($"{key}.{i}", new SourceLocation("shipper.yml", line++, 5), items[i], false));
                }

                node = list;
            }
            else
            {
                node = new ConfigScalar(key, location, Convert.ToString(value, global::System.Globalization.CultureInfo.InvariantCulture)!, false);
            }

            map.Set(parts[^1], node);
        }

        return new ConfigSection(root, new ConfigReadTracker());
    }
}
