using Shipper.Module.Config;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Shipper.Config;

/// <summary>
/// Turns YAML text into a <see cref="ConfigMap"/> tree using YamlDotNet's event parser (no reflection, so it
/// is NativeAOT-safe). Dotted keys become nested maps and merge with maps written out in full, so
/// <c>queue.mem.events: 10</c> and <c>queue: {mem: {events: 10}}</c> mean the same thing; one setting written
/// twice (a repeated key, or a dotted and a nested writing of the same leaf) is an error naming both places.
/// Scalars are kept as written: <see cref="ConfigVariables"/> expands <c>${...}</c> once the overrides are in.
/// Depth, value count and alias expansion are bounded by <see cref="ConfigLimits"/> while the tree is built.
/// </summary>
public sealed class YamlConfigLoader
{
    private readonly Dictionary<string, ConfigNode> _anchors = new(StringComparer.Ordinal);

    // Where each node's key was written, for the two positions of a setting written twice.
    private readonly Dictionary<ConfigNode, SourceLocation> _keyLocations = new(ReferenceEqualityComparer.Instance);
    private string _source = "";
    private int _values;
    private int _aliasValues;

    public ConfigMap LoadFile(string path) => LoadText(ConfigFile.ReadText(path), path);

    public ConfigMap LoadText(string yaml, string source)
    {
        Reset(source);
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

            var node = ReadNode(parser, "", 0);
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
        catch (Exception e) when (IsParserFailure(e))
        {
            // YamlDotNet's parser throws other exceptions than YamlException on some broken streams: an
            // InvalidOperationException for a document end marker before any document or a flow sequence left
            // open, an ArgumentException for a tag that is not a URI. The place is where parsing stopped.
            var at = parser.Current is { } current ? Location(current.End) : new SourceLocation(source, 1, 1);
            throw new ConfigException("", at, "invalid YAML: " + e.Message);
        }
        finally
        {
            _anchors.Clear();
            _keyLocations.Clear();
        }
    }

    /// <summary>
    /// Parses the value of a <c>-E key=value</c> override as a YAML scalar, list or map placed
    /// <paramref name="depth"/> levels below the top (the key's parts).
    /// </summary>
    public ConfigNode LoadValue(string yaml, string path, string source, int depth)
    {
        Reset(source);
        if (yaml.Length == 0)
        {
            return new ConfigScalar(path, new SourceLocation(source, 0, 0), "", isQuoted: true);
        }

        try
        {
            var parser = new Parser(new StringReader(yaml));
            parser.Consume<StreamStart>();
            parser.Consume<DocumentStart>();
            var node = ReadNode(parser, path, depth);
            Relocate(node, new SourceLocation(source, 0, 0));
            return node;
        }
        catch (Exception e) when (e is YamlException || IsParserFailure(e))
        {
            // Like beats, a value that is not valid YAML on its own (say "a: b: c") is taken as a string.
            return new ConfigScalar(path, new SourceLocation(source, 0, 0), yaml, isQuoted: true);
        }
        finally
        {
            _anchors.Clear();
            _keyLocations.Clear();
        }
    }

    /// <summary>
    /// True for an exception YamlDotNet's parser threw on malformed input without making it a YamlException
    /// (it has thrown InvalidOperationException and ArgumentException so far).
    /// </summary>
    public static bool IsParserFailure(Exception e) =>
        e.Source == "YamlDotNet" && e is InvalidOperationException or ArgumentException or FormatException or OverflowException;

    /// <summary>The error for a value nested deeper than <see cref="ConfigLimits.MaxDepth"/>.</summary>
    public static ConfigException TooDeep(string path, SourceLocation location) =>
        new(Shorten(path), location, $"nested more than {ConfigLimits.MaxDepth} levels deep, the limit for a config");

    private void Reset(string source)
    {
        _source = source;
        _anchors.Clear();
        _keyLocations.Clear();
        _values = 0;
        _aliasValues = 0;
    }

    private ConfigNode ReadNode(IParser parser, string path, int depth)
    {
        var current = parser.Current;
        if (depth > ConfigLimits.MaxDepth)
        {
            throw TooDeep(path, Location(current?.Start ?? Mark.Empty));
        }

        if (current is not AnchorAlias)
        {
            Count(current);
        }

        if (parser.TryConsume<Scalar>(out var scalar))
        {
            var node = new ConfigScalar(path, Location(scalar.Start), scalar.Value, scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded);
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
                list.Items.Add(ReadNode(parser, path.Length == 0 ? index.ToString() : $"{path}.{index}", depth + 1));
                index++;
            }

            return list;
        }

        if (parser.TryConsume<MappingStart>(out var mappingStart))
        {
            var map = new ConfigMap(path, Location(mappingStart.Start));
            Remember(mappingStart.Anchor, map);
            ReadEntries(parser, map, path, depth);
            return map;
        }

        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (!_anchors.TryGetValue(alias.Value.Value, out var anchored))
            {
                throw new ConfigException(path, Location(alias.Start), $"unknown YAML alias '*{alias.Value.Value}'");
            }

            return Clone(anchored, path, depth, Location(alias.Start));
        }

        throw new ConfigException(path, Location(current?.Start ?? Mark.Empty), $"unexpected YAML element {current?.GetType().Name}");
    }

    private void ReadEntries(IParser parser, ConfigMap map, string path, int depth)
    {
        // The keys as written in this mapping: YAML forbids writing one twice.
        var written = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        List<ConfigMap>? merges = null;
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var keyEvent = parser.Current;
            if (!parser.TryConsume<Scalar>(out var key))
            {
                throw new ConfigException(path, Location(keyEvent?.Start ?? Mark.Empty), "keys must be plain strings");
            }

            var keyAt = Location(key.Start);
            if (!written.TryAdd(key.Value, keyAt))
            {
                throw new ConfigException(ConfigNode.Join(path, key.Value), keyAt, $"duplicate key '{key.Value}': written at {written[key.Value]} and again at {keyAt}");
            }

            if (key.Value == "<<")
            {
                // YAML merge key: the aliased map's entries fill in what this map does not write itself,
                // wherever in the map the '<<' is, so they are applied once the map is complete.
                var merged = ReadNode(parser, path, depth);
                if (merged is not ConfigMap source)
                {
                    throw merged.Error("a '<<' merge key needs a map");
                }

                (merges ??= new()).Add(source);
                continue;
            }

            if (key.Value.Length == 0 || key.Value.StartsWith('.') || key.Value.EndsWith('.') || key.Value.Contains(".."))
            {
                throw new ConfigException(ConfigNode.Join(path, key.Value), keyAt, $"'{key.Value}' is not a valid setting name");
            }

            var parts = key.Value.Split('.');
            if (depth + parts.Length > ConfigLimits.MaxDepth)
            {
                throw TooDeep(ConfigNode.Join(path, key.Value), keyAt);
            }

            var target = map;
            var targetPath = path;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                targetPath = ConfigNode.Join(targetPath, parts[i]);
                var existing = target.Get(parts[i]);
                if (existing is ConfigMap existingMap)
                {
                    target = existingMap;
                }
                else if (existing is not null)
                {
                    throw WrittenTwice(targetPath, existing, keyAt);
                }
                else
                {
                    Count(key);
                    var created = new ConfigMap(targetPath, keyAt);
                    _keyLocations[created] = keyAt;
                    target.Set(parts[i], created);
                    target = created;
                }
            }

            var value = ReadNode(parser, ConfigNode.Join(targetPath, parts[^1]), depth + parts.Length);
            Place(target, parts[^1], value, keyAt);
        }

        if (merges is not null)
        {
            foreach (var source in merges)
            {
                foreach (var (k, v) in source.Entries)
                {
                    if (map.Get(k) is null)
                    {
                        map.Set(k, v);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Puts a value under its key. Two writings of one map (dotted and nested) merge; a leaf, or a map and a
    /// leaf, written twice is an error naming both places.
    /// </summary>
    private void Place(ConfigMap target, string key, ConfigNode value, SourceLocation keyAt)
    {
        var existing = target.Get(key);
        if (existing is null)
        {
            target.Set(key, value);
            _keyLocations[value] = keyAt;
            return;
        }

        if (existing is ConfigMap existingMap && value is ConfigMap incoming)
        {
            foreach (var (k, v) in incoming.Entries)
            {
                Place(existingMap, k, v, KeyLocation(v));
            }

            return;
        }

        throw WrittenTwice(value.Path, existing, keyAt);
    }

    private ConfigException WrittenTwice(string path, ConfigNode existing, SourceLocation again) =>
        new(path, again, $"'{path}' is set twice: at {KeyLocation(existing)} and again at {again}");

    private SourceLocation KeyLocation(ConfigNode node) => _keyLocations.TryGetValue(node, out var at) ? at : node.Location;

    /// <summary>An override (<c>-E</c>) wins over the file: maps merge, anything else is replaced.</summary>
    public static void Override(ConfigMap target, string key, ConfigNode value)
    {
        if (target.Get(key) is ConfigMap existing && value is ConfigMap incoming)
        {
            foreach (var (k, v) in incoming.Entries)
            {
                Override(existing, k, v);
            }

            return;
        }

        target.Set(key, value);
    }

    private void Count(ParsingEvent? at)
    {
        if (++_values > ConfigLimits.MaxValues)
        {
            throw new ConfigException("", Location(at?.Start ?? Mark.Empty), $"the config holds more than {ConfigLimits.MaxValues} values, the limit for a config");
        }
    }

    private void Remember(AnchorName anchor, ConfigNode node)
    {
        if (!anchor.IsEmpty)
        {
            _anchors[anchor.Value] = node;
        }
    }

    /// <summary>Copies an anchored value for an alias, counting every value it expands to.</summary>
    private ConfigNode Clone(ConfigNode node, string path, int depth, SourceLocation aliasAt)
    {
        if (depth > ConfigLimits.MaxDepth)
        {
            throw TooDeep(path, aliasAt);
        }

        if (++_aliasValues > ConfigLimits.MaxAliasValues)
        {
            throw new ConfigException(Shorten(path), aliasAt, $"YAML aliases expand to more than {ConfigLimits.MaxAliasValues} values, the limit for a config (an alias bomb?)");
        }

        if (++_values > ConfigLimits.MaxValues)
        {
            throw new ConfigException("", aliasAt, $"the config holds more than {ConfigLimits.MaxValues} values, the limit for a config");
        }

        switch (node)
        {
            case ConfigScalar s:
                return new ConfigScalar(path, s.Location, s.Value, s.IsQuoted);
            case ConfigList l:
                var list = new ConfigList(path, l.Location);
                for (var i = 0; i < l.Items.Count; i++)
                {
                    list.Items.Add(Clone(l.Items[i], $"{path}.{i}", depth + 1, aliasAt));
                }

                return list;
            case ConfigMap m:
                var map = new ConfigMap(path, m.Location);
                foreach (var (k, v) in m.Entries)
                {
                    var copy = Clone(v, ConfigNode.Join(path, k), depth + 1, aliasAt);
                    _keyLocations[copy] = KeyLocation(v);
                    map.Set(k, copy);
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

    /// <summary>A path as long as the limits allow is still too long to print whole.</summary>
    private static string Shorten(string path) => path.Length <= 200 ? path : string.Concat(path.AsSpan(0, 200), "…");

    private SourceLocation Location(Mark mark) => new(_source, (int)mark.Line, (int)mark.Column);

    private static string StripPosition(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; our location says it already.
        var marker = message.LastIndexOf("): ", StringComparison.Ordinal);
        return marker >= 0 && message.StartsWith("(Line", StringComparison.Ordinal) ? message[(marker + 3)..] : message;
    }
}
