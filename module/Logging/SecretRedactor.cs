using System.Text;

namespace Shipper.Module.Logging;

/// <summary>
/// Takes secrets out of text before it leaves the process: every log line, and the command lines of the
/// shipper's own processes in its process documents. Three kinds of match: the configured secret values
/// wherever they appear; <c>key=value</c> where the host's notion of a secret setting (the one
/// <c>export config</c> uses) says the key holds one, as in <c>-E output.elasticsearch.password=…</c> or
/// <c>--password=…</c>; and the password of a URL written <c>scheme://user:password@host</c>.
/// Immutable, so any thread may use it.
/// </summary>
public sealed class SecretRedactor
{
    public const string Redacted = "[redacted]";

    /// <summary>
    /// Shorter configured values are not replaced by value (a one-letter password would garble every line);
    /// they are still caught in their <c>key=value</c> form.
    /// </summary>
    public const int MinimumValueLength = 4;

    private const string UrlPasswordMask = "xxxxx";

    private readonly string[] _values;
    private readonly Func<string, string, string> _redactSetting;

    /// <param name="values">Secret values to replace wherever they appear.</param>
    /// <param name="redactSetting">(dotted key, value) → the value as <c>export config</c> shows it; unchanged when not a secret.</param>
    public SecretRedactor(IEnumerable<string> values, Func<string, string, string> redactSetting)
    {
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            if (value.Length >= MinimumValueLength)
            {
                distinct.Add(value);
            }
        }

        _values = new string[distinct.Count];
        distinct.CopyTo(_values);

        // Longest first, so that a secret holding a shorter one is replaced whole.
        Array.Sort(_values, static (a, b) => b.Length.CompareTo(a.Length));
        _redactSetting = redactSetting;
    }

    /// <summary>Redacts nothing: for components used outside a running shipper.</summary>
    public static SecretRedactor None { get; } = new(Array.Empty<string>(), static (_, value) => value);

    public IReadOnlyList<string> Values => _values;

    /// <summary>A log line or message: a <c>key=value</c> value ends at white space or its closing quote.</summary>
    public string Redact(string text) => Redact(text, wholeValue: false);

    /// <summary>
    /// One command-line argument: in <c>key=value</c> (<c>-E</c>'s argument, <c>-Ekey=value</c>,
    /// <c>--key=value</c>) the value is the rest of the argument, spaces and all.
    /// </summary>
    public string RedactArgument(string argument) => Redact(argument, wholeValue: true);

    /// <summary>A command line; the array itself when nothing in it is secret.</summary>
    public string[] RedactArguments(string[] arguments)
    {
        string[]? redacted = null;
        for (var i = 0; i < arguments.Length; i++)
        {
            var shown = RedactArgument(arguments[i]);
            if (!ReferenceEquals(shown, arguments[i]) && shown != arguments[i])
            {
                redacted ??= (string[])arguments.Clone();
                redacted[i] = shown;
            }
        }

        return redacted ?? arguments;
    }

    private string Redact(string text, bool wholeValue)
    {
        foreach (var value in _values)
        {
            if (text.Contains(value, StringComparison.Ordinal))
            {
                text = text.Replace(value, Redacted, StringComparison.Ordinal);
            }
        }

        if (text.Contains('='))
        {
            text = RedactKeyValues(text, wholeValue);
        }

        if (text.Contains("://", StringComparison.Ordinal))
        {
            text = RedactUrlPasswords(text);
        }

        return text;
    }

    private string RedactKeyValues(string text, bool wholeValue)
    {
        StringBuilder? result = null;
        var copied = 0;
        var searchFrom = 0;
        while (searchFrom < text.Length)
        {
            var equals = text.IndexOf('=', searchFrom);
            if (equals < 0)
            {
                break;
            }

            var keyStart = equals;
            while (keyStart > 0 && IsKeyChar(text[keyStart - 1]))
            {
                keyStart--;
            }

            var key = text[keyStart..equals];
            if (key.StartsWith("-E", StringComparison.Ordinal))
            {
                key = key[2..];
            }

            key = key.TrimStart('-');
            var valueStart = equals + 1;
            var valueEnd = wholeValue ? text.Length : ValueEnd(text, valueStart);
            searchFrom = Math.Max(valueEnd, equals + 1);
            if (key.Length == 0 || valueEnd <= valueStart)
            {
                continue;
            }

            var raw = text[valueStart..valueEnd];
            var value = Unquote(raw);
            var shown = _redactSetting(key, value);
            if (shown == value)
            {
                continue;
            }

            result ??= new StringBuilder(text.Length);
            result.Append(text, copied, valueStart - copied).Append(shown);
            copied = valueEnd;
        }

        if (result is null)
        {
            return text;
        }

        result.Append(text, copied, text.Length - copied);
        return result.ToString();
    }

    /// <summary>Masks the password of every <c>scheme://user:password@host</c> in the text, as <c>export config</c> does.</summary>
    private static string RedactUrlPasswords(string text)
    {
        StringBuilder? result = null;
        var copied = 0;
        var searchFrom = 0;
        while (true)
        {
            var scheme = text.IndexOf("://", searchFrom, StringComparison.Ordinal);
            if (scheme < 0)
            {
                break;
            }

            var start = scheme + 3;
            var end = start;
            while (end < text.Length && !IsAuthorityEnd(text[end]))
            {
                end++;
            }

            searchFrom = end;
            if (end == start)
            {
                continue;
            }

            var at = text.LastIndexOf('@', end - 1, end - start);
            if (at < 0)
            {
                continue;
            }

            var colon = text.IndexOf(':', start, at - start);
            if (colon < 0 || text.AsSpan(colon + 1, at - colon - 1).SequenceEqual(UrlPasswordMask) || text.AsSpan(colon + 1, at - colon - 1).SequenceEqual(Redacted))
            {
                continue;
            }

            result ??= new StringBuilder(text.Length);
            result.Append(text, copied, colon + 1 - copied).Append(UrlPasswordMask);
            copied = at;
        }

        if (result is null)
        {
            return text;
        }

        result.Append(text, copied, text.Length - copied);
        return result.ToString();
    }

    private static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-';

    private static bool IsAuthorityEnd(char c) => char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '"' or '\'' or ',' or ']' or ')' or '>';

    /// <summary>
    /// Where a value ends in a line: after its closing quote, or at white space or a quote (the end of a quoted
    /// argument such as <c>"-E", "key=value"</c>).
    /// </summary>
    private static int ValueEnd(string text, int start)
    {
        if (start < text.Length && text[start] is '"' or '\'')
        {
            var close = text.IndexOf(text[start], start + 1);
            return close < 0 ? text.Length : close + 1;
        }

        var end = start;
        while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] is not ('"' or '\''))
        {
            end++;
        }

        return end;
    }

    private static string Unquote(string raw) =>
        raw.Length >= 2 && raw[0] is '"' or '\'' && raw[^1] == raw[0] ? raw[1..^1] : raw;
}
