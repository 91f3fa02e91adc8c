using System.Text;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// libbeat's event format strings as used by <c>index</c>, <c>pipeline</c> and <c>setup.template.name</c>:
/// literal text with <c>%{[field.path]}</c> (optionally <c>%{[field.path]:default}</c>) and
/// <c>%{+yyyy.MM.dd}</c> (the event's @timestamp in UTC; letters y M d H m s).
/// </summary>
public sealed class FormatString
{
    private FormatString(string text, FormatSegment[] segments)
    {
        Text = text;
        Segments = segments;
    }

    public string Text { get; }

    public IReadOnlyList<FormatSegment> Segments { get; }

    public bool HasTimestamp => Array.Exists((FormatSegment[])Segments, s => s.Kind == FormatSegmentKind.Timestamp);

    /// <summary>Parses a format string; the exception's message says what is wrong and where in the text.</summary>
    public static FormatString Parse(string text)
    {
        var segments = new List<FormatSegment>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '%' && i + 1 < text.Length && text[i + 1] == '{')
            {
                var close = text.IndexOf('}', i + 2);
                if (close < 0)
                {
                    throw new FormatException($"'%{{' at position {i + 1} is not closed by '}}'");
                }

                if (literal.Length > 0)
                {
                    segments.Add(new FormatSegment(FormatSegmentKind.Literal, literal.ToString(), null));
                    literal.Clear();
                }

                segments.Add(ParseExpression(text.Substring(i + 2, close - i - 2), i + 1));
                i = close + 1;
                continue;
            }

            literal.Append(text[i]);
            i++;
        }

        if (literal.Length > 0)
        {
            segments.Add(new FormatSegment(FormatSegmentKind.Literal, literal.ToString(), null));
        }

        return new FormatString(text, segments.ToArray());
    }

    private static FormatSegment ParseExpression(string expression, int position)
    {
        if (expression.StartsWith('+'))
        {
            return new FormatSegment(FormatSegmentKind.Timestamp, ConvertDatePattern(expression[1..], position), null);
        }

        if (expression.StartsWith('['))
        {
            var end = expression.IndexOf(']');
            if (end < 0)
            {
                throw new FormatException($"field reference at position {position} is missing ']'");
            }

            var path = expression[1..end].Trim();
            if (path.Length == 0)
            {
                throw new FormatException($"field reference at position {position} names no field");
            }

            var rest = expression[(end + 1)..];
            // libbeat reads [a][b] as a.b (%{[@metadata][beat]} in older auditbeat.yml files).
            while (rest.StartsWith('['))
            {
                var next = rest.IndexOf(']');
                var key = next < 0 ? "" : rest[1..next].Trim();
                if (next < 0)
                {
                    throw new FormatException($"field reference at position {position} is missing ']'");
                }

                if (key.Length == 0)
                {
                    throw new FormatException($"field reference at position {position} has an empty '[]' part");
                }

                path += "." + key;
                rest = rest[(next + 1)..];
            }

            if (rest.Length == 0)
            {
                return new FormatSegment(FormatSegmentKind.Field, path, null);
            }

            if (rest[0] == ':')
            {
                return new FormatSegment(FormatSegmentKind.Field, path, rest[1..]);
            }

            throw new FormatException($"unexpected '{rest}' after the field reference at position {position}");
        }

        throw new FormatException($"'%{{{expression}}}' at position {position} is neither a field reference %{{[field]}} nor a timestamp %{{+yyyy.MM.dd}}");
    }

    /// <summary>Joda-style date patterns (as beats write them) to a .NET custom format, for the letters that mean the same.</summary>
    private static string ConvertDatePattern(string pattern, int position)
    {
        if (pattern.Length == 0)
        {
            throw new FormatException($"the timestamp at position {position} has no pattern, e.g. %{{+yyyy.MM.dd}}");
        }

        var result = new StringBuilder();
        foreach (var c in pattern)
        {
            if (c is 'y' or 'M' or 'd' or 'H' or 'm' or 's')
            {
                result.Append(c);
            }
            else if (char.IsAsciiLetter(c))
            {
                throw new FormatException($"the timestamp pattern '{pattern}' at position {position} uses '{c}': supported are y, M, d, H, m, s");
            }
            else
            {
                result.Append('\\').Append(c);
            }
        }

        return result.ToString();
    }
}
