namespace Shipper.IndexManagement;

/// <summary>A node of a small YAML document (fields.yml) read with YamlDotNet's event parser, keeping its position for errors.</summary>
public sealed class YamlValue
{
    public YamlValue(string source, long line, long column)
    {
        Source = source;
        Line = line;
        Column = column;
    }

    public string Source { get; }

    public long Line { get; }

    public long Column { get; }

    public string? Scalar { get; init; }

    public bool IsQuoted { get; init; }

    public List<KeyValuePair<string, YamlValue>>? Map { get; init; }

    public List<YamlValue>? List { get; init; }

    public string Where => $"{Source}:{Line}:{Column}";

    public YamlValue? Get(string key)
    {
        if (Map is null)
        {
            return null;
        }

        foreach (var entry in Map)
        {
            if (entry.Key == key)
            {
                return entry.Value;
            }
        }

        return null;
    }

    public FormatException Error(string problem) => new($"{Where}: {problem}");
}
