using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Shipper.IndexManagement;

/// <summary>
/// Reads one YAML document into <see cref="YamlValue"/> nodes with YamlDotNet's low-level parser (events
/// only, no reflection-based deserializer, so it is safe under NativeAOT). Nesting is bounded by
/// <see cref="Config.ConfigLimits.MaxDepth"/>, so a deep document is an error rather than a stack overflow.
/// </summary>
public static class YamlReader
{
    public static YamlValue Read(string text, string source)
    {
        var parser = new Parser(new StringReader(text));
        try
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                return new YamlValue(source, 1, 1) { List = new List<YamlValue>() };
            }

            parser.Consume<DocumentStart>();
            var root = ReadNode(parser, source, 0);
            parser.Consume<DocumentEnd>();
            return root;
        }
        catch (YamlException e)
        {
            throw new FormatException($"{source}:{e.Start.Line}:{e.Start.Column}: {e.Message}", e);
        }
        catch (Exception e) when (Config.YamlConfigLoader.IsParserFailure(e))
        {
            // Some broken streams make YamlDotNet's parser throw other exceptions than a YamlException.
            var at = parser.Current?.End;
            throw new FormatException($"{source}:{at?.Line ?? 1}:{at?.Column ?? 1}: {e.Message}", e);
        }
    }

    private static YamlValue ReadNode(IParser parser, string source, int depth)
    {
        var current = parser.Current ?? throw new FormatException($"{source}: unexpected end of document");
        var line = current.Start.Line;
        var column = current.Start.Column;
        if (depth > Config.ConfigLimits.MaxDepth)
        {
            throw new FormatException($"{source}:{line}:{column}: nested more than {Config.ConfigLimits.MaxDepth} levels deep, the limit for fields.yml");
        }

        switch (current)
        {
            case Scalar scalar:
                parser.MoveNext();
                return new YamlValue(source, line, column)
                {
                    Scalar = scalar.Value,
                    IsQuoted = scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded,
                };
            case SequenceStart:
                parser.MoveNext();
                var list = new List<YamlValue>();
                while (!parser.TryConsume<SequenceEnd>(out _))
                {
                    list.Add(ReadNode(parser, source, depth + 1));
                }

                return new YamlValue(source, line, column) { List = list };
            case MappingStart:
                parser.MoveNext();
                var map = new List<KeyValuePair<string, YamlValue>>();
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var key = ReadNode(parser, source, depth + 1);
                    if (key.Scalar is null)
                    {
                        throw key.Error("mapping keys must be plain values");
                    }

                    map.Add(new(key.Scalar, ReadNode(parser, source, depth + 1)));
                }

                return new YamlValue(source, line, column) { Map = map };
            case AnchorAlias:
                throw new FormatException($"{source}:{line}:{column}: aliases are not supported");
            default:
                throw new FormatException($"{source}:{line}:{column}: unexpected {current.GetType().Name}");
        }
    }
}
