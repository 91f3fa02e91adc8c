using Shipper.Module.Config;
using YamlDotNet.RepresentationModel;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>Builds a <see cref="ConfigSection"/> from YAML text the way the config loader does (dotted keys become nested maps).</summary>
public static class TestConfig
{
    public static ConfigSection Section(string yaml, string path = "output.elasticsearch")
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = new ConfigMap(path, new SourceLocation("test.yml", 1, 1));
        if (stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode mapping)
        {
            Fill(root, mapping, path);
        }

        return new ConfigSection(root, new ConfigReadTracker());
    }

    private static void Fill(ConfigMap target, YamlMappingNode mapping, string path)
    {
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value!;
            var parts = key.Split('.');
            var map = target;
            var currentPath = path;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                currentPath = Join(currentPath, parts[i]);
                if (map.Get(parts[i]) is not ConfigMap next)
                {
                    next = new ConfigMap(currentPath, Location(keyNode));
                    map.Set(parts[i], next);
                }

                map = next;
            }

            var leafPath = Join(currentPath, parts[^1]);
            if (valueNode is YamlMappingNode child && map.Get(parts[^1]) is ConfigMap existing)
            {
                Fill(existing, child, leafPath);
            }
            else
            {
                map.Set(parts[^1], Convert(valueNode, leafPath));
            }
        }
    }

    private static ConfigNode Convert(YamlNode node, string path)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var map = new ConfigMap(path, Location(node));
                Fill(map, mapping, path);
                return map;
            case YamlSequenceNode sequence:
                var list = new ConfigList(path, Location(node));
                var i = 0;
                foreach (var item in sequence.Children)
                {
                    list.Items.Add(Convert(item, path + "." + i++));
                }

                return list;
            default:
                var scalar = (YamlScalarNode)node;
                var quoted = scalar.Style is YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted;
                return new ConfigScalar(path, Location(node), scalar.Value ?? "", quoted);
        }
    }

    private static SourceLocation Location(YamlNode node) => new("test.yml", (int)node.Start.Line, (int)node.Start.Column);

    private static string Join(string parent, string key) => parent.Length == 0 ? key : parent + "." + key;
}
