using System.Text;
using Shipper.Module.Config;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Shipper.Config;

/// <summary>
/// Turns YAML text into a <see cref="ConfigMap"/> tree using YamlDotNet's event parser (no reflection, so it
/// is NativeAOT-safe). Dotted keys become nested maps and merge with maps written out in full, so
/// <c>queue.mem.events: 10</c> and <c>queue: {mem: {events: 10}}</c> mean the same thing. <c>${VAR}</c> and
/// <c>${VAR:default}</c> in scalars are expanded from the environment.
/// </summary>
public sealed class YamlConfigLoader
{
    private readonly Func<string, string?> _environment;
    private readonly Dictionary<string, ConfigNode> _anchors = new(StringComparer.Ordinal);
    private string _source = "";

    public YamlConfigLoader(Func<string, string?>? environment = null)
    {
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    public ConfigMap LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (FileNotFoundException)
        {
            throw new ConfigException("", new SourceLocation(path, 0, 0), $"config file {path} not found");
        }
        catch (DirectoryNotFoundException)
        {
            throw new ConfigException("", new SourceLocation(path, 0, 0), $"config file {path} not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException("", new SourceLocation(path, 0, 0), $"cannot read config file {path}: {e.Message}");
        }

        return LoadText(text, path);
    }

    public ConfigMap LoadText(string yaml, string source)
    {
        _source = source;
        _anchors.Clear();
        var root = new ConfigMap("", new SourceLocation(source, 1, 1));
        var parser = new Parser(new StringReader(yaml));
        try
        {
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
            {
                return root;
            }

            parser.Consume<DocumentStart>();
            if (parser.Accept<DocumentEnd>(out _))
            {
                return root;
            }

            var node = ReadNode(parser, "");
            if (node is ConfigScalar { IsNull: true })
            {
                return root;
            }

            if (node is not ConfigMap map)
            {
                throw node.Error($"the top level of the config must be a map of settings, got {node.KindName}");
            }

            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
            {
                throw new ConfigException("", Location(second.Start), "the config file holds more than one YAML document");
            }

            return map;
        }
        catch (YamlException e)
        {
            var problem = e.InnerException is YamlException inner ? inner.Message : e.Message;
            throw new ConfigException("", Location(e.Start), "invalid YAML: " + StripPosition(problem));
        }
    }

    /// <summary>Parses the value of a <c>-E key=value</c> override as a YAML scalar, list or map.</summary>
    public ConfigNode LoadValue(string yaml, string path, string source)
    {
        _source = source;
        _anchors.Clear();
        if (yaml.Length == 0)
        {
            return new ConfigScalar(path, new SourceLocation(source, 0, 0), "", isQuoted: true);
        }

        try
        {
            var parser = new Parser(new StringReader(yaml));
            parser.Consume<StreamStart>();
            parser.Consume<DocumentStart>();
            var node = ReadNode(parser, path);
            Relocate(node, new SourceLocation(source, 0, 0));
            return node;
        }
        catch (YamlException)
        {
            // Like beats, a value that is not valid YAML on its own (say "a: b: c") is taken as a string.
            return new ConfigScalar(path, new SourceLocation(source, 0, 0), yaml, isQuoted: true);
        }
    }

    private ConfigNode ReadNode(IParser parser, string path)
    {
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            var node = new ConfigScalar(path, Location(scalar.Start), Expand(scalar, path), scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded);
            Remember(scalar.Anchor, node);
            return node;
        }

        if (parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            var list = new ConfigList(path, Location(sequenceStart.Start));
            Remember(sequenceStart.Anchor, list);
            var index = 0;
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                list.Items.Add(ReadNode(parser, path.Length == 0 ? index.ToString() : $"{path}.{index}"));
                index++;
            }

            return list;
        }

        if (parser.TryConsume<MappingStart>(out var mappingStart))
        {
            var map = new ConfigMap(path, Location(mappingStart.Start));
            Remember(mappingStart.Anchor, map);
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var keyEvent = parser.Current;
                if (!parser.TryConsume<Scalar>(out var key))
                {
                    throw new ConfigException(path, Location(keyEvent?.Start ?? Mark.Empty), "keys must be plain strings");
                }

                if (key.Value == "<<")
                {
                    // YAML merge key: copy the aliased map's entries without overriding what is written here.
                    var merged = ReadNode(parser, path);
                    if (merged is not ConfigMap source)
                    {
                        throw merged.Error("a '<<' merge key needs a map");
                    }

                    foreach (var (k, v) in source.Entries)
                    {
                        if (map.Get(k) is null)
                        {
                            map.Set(k, Clone(v, ConfigNode.Join(path, k)));
                        }
                    }

                    continue;
                }

                if (key.Value.Length == 0 || key.Value.StartsWith('.') || key.Value.EndsWith('.') || key.Value.Contains(".."))
                {
                    throw new ConfigException(ConfigNode.Join(path, key.Value), Location(key.Start), $"'{key.Value}' is not a valid setting name");
                }

                var parts = key.Value.Split('.');
                var target = map;
                var targetPath = path;
                for (var i = 0; i < parts.Length - 1; i++)
                {
                    targetPath = ConfigNode.Join(targetPath, parts[i]);
                    if (target.Get(parts[i]) is ConfigMap existing)
                    {
                        target = existing;
                    }
                    else
                    {
                        var created = new ConfigMap(targetPath, Location(key.Start));
                        target.Set(parts[i], created);
                        target = created;
                    }
                }

                var valuePath = ConfigNode.Join(targetPath, parts[^1]);
                var value = ReadNode(parser, valuePath);
                Merge(target, parts[^1], value);
            }

            return map;
        }

        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (!_anchors.TryGetValue(alias.Value.Value, out var anchored))
            {
                throw new ConfigException(path, Location(alias.Start), $"unknown YAML alias '*{alias.Value.Value}'");
            }

            return Clone(anchored, path);
        }

        var unexpected = parser.Current;
        throw new ConfigException(path, Location(unexpected?.Start ?? Mark.Empty), $"unexpected YAML element {unexpected?.GetType().Name}");
    }

    /// <summary>Two writings of one map (dotted and nested) merge; for anything else the later one wins.</summary>
    public static void Merge(ConfigMap target, string key, ConfigNode value)
    {
        if (target.Get(key) is ConfigMap existing && value is ConfigMap incoming)
        {
            foreach (var (k, v) in incoming.Entries)
            {
                Merge(existing, k, v);
            }

            return;
        }

        target.Set(key, value);
    }

    private string Expand(Scalar scalar, string path)
    {
        var text = scalar.Value;
        if (!text.Contains("${", StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var start = text.IndexOf("${", i, StringComparison.Ordinal);
            if (start < 0)
            {
                result.Append(text, i, text.Length - i);
                break;
            }

            // "$${" escapes a literal "${".
            if (start > 0 && text[start - 1] == '$')
            {
                result.Append(text, i, start - i - 1).Append("${");
                i = start + 2;
                continue;
            }

            var end = text.IndexOf('}', start + 2);
            if (end < 0)
            {
                throw new ConfigException(path, Location(scalar.Start), $"unterminated variable reference in '{text}'");
            }

            result.Append(text, i, start - i);
            var reference = text.AsSpan(start + 2, end - start - 2);
            var colon = reference.IndexOf(':');
            var name = (colon < 0 ? reference : reference[..colon]).ToString();
            var value = _environment(name);
            if (value is null)
            {
                if (colon < 0)
                {
                    throw new ConfigException(path, Location(scalar.Start), $"environment variable {name} is not set (write ${{{name}:default}} to give a default)");
                }

                value = reference[(colon + 1)..].ToString();
            }

            result.Append(value);
            i = end + 1;
        }

        return result.ToString();
    }

    private void Remember(AnchorName anchor, ConfigNode node)
    {
        if (!anchor.IsEmpty)
        {
            _anchors[anchor.Value] = node;
        }
    }

    private static ConfigNode Clone(ConfigNode node, string path)
    {
        switch (node)
        {
            case ConfigScalar s:
                return new ConfigScalar(path, s.Location, s.Value, s.IsQuoted);
            case ConfigList l:
                var list = new ConfigList(path, l.Location);
                for (var i = 0; i < l.Items.Count; i++)
                {
                    list.Items.Add(Clone(l.Items[i], $"{path}.{i}"));
                }

                return list;
            case ConfigMap m:
                var map = new ConfigMap(path, m.Location);
                foreach (var (k, v) in m.Entries)
                {
                    map.Set(k, Clone(v, ConfigNode.Join(path, k)));
                }

                return map;
            default:
                throw new InvalidOperationException("unknown config node");
        }
    }

    private static void Relocate(ConfigNode node, SourceLocation location)
    {
        node.Location = location;
        switch (node)
        {
            case ConfigList l:
                foreach (var item in l.Items)
                {
                    Relocate(item, location);
                }

                break;
            case ConfigMap m:
                foreach (var entry in m.Entries)
                {
                    Relocate(entry.Value, location);
                }

                break;
        }
    }

    private SourceLocation Location(Mark mark) => new(_source, (int)mark.Line, (int)mark.Column);

    private static string StripPosition(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; our location says it already.
        var marker = message.LastIndexOf("): ", StringComparison.Ordinal);
        return marker >= 0 && message.StartsWith("(Line", StringComparison.Ordinal) ? message[(marker + 3)..] : message;
    }
}
