using System.Buffers;
using System.Text;
using System.Text.Json;
using Shipper.Module.Logging;

namespace Shipper.Logging;

/// <summary>
/// The shipper's log sink: beats-style lines (<c>2026-11-26T02:30:00.123Z INFO [selector] message</c>) or
/// JSON objects, to stderr or to size-rotated files. Debug records pass only for selectors named with
/// <c>-d</c> / <c>logging.selectors</c> (or <c>*</c>). Never writes to stdout: stdout carries documents.
/// Every message goes through the <see cref="SecretRedactor"/> here, at the sink, so that no code path can
/// log a configured secret or a <c>-E …password=…</c> it happens to hold.
/// </summary>
public sealed class LogWriter : LogSink, IDisposable
{
    private readonly object _gate = new();
    private readonly LogLevel _level;
    private readonly HashSet<string> _debugSelectors;
    private readonly bool _allDebug;
    private readonly bool _json;
    private readonly string _prefix;
    private readonly TimeProvider _time;
    private readonly RotatingFile? _file;
    private readonly TextWriter? _stderr;

    /// <param name="secrets">The configuration's secrets; without one, only <c>key=value</c> forms and URL passwords are redacted.</param>
    public LogWriter(LogLevel level, IEnumerable<string> debugSelectors, bool json, TextWriter? stderr, RotatingFile? file, TimeProvider? time = null, string prefix = "", SecretRedactor? secrets = null)
    {
        Secrets = secrets ?? ConfiguredSecrets.KeyFormsOnly;
        _debugSelectors = new HashSet<string>(debugSelectors, StringComparer.Ordinal);
        _allDebug = _debugSelectors.Contains("*");
        _level = _debugSelectors.Count > 0 ? LogLevel.Debug : level;
        _json = json;
        _stderr = stderr;
        _file = file;
        _time = time ?? TimeProvider.System;
        _prefix = prefix;
    }

    public SecretRedactor Secrets { get; }

    public override bool IsEnabled(LogLevel level, string selector)
    {
        if (level < _level)
        {
            return false;
        }

        return level != LogLevel.Debug || _allDebug || _debugSelectors.Contains(selector);
    }

    public override void Write(LogLevel level, string selector, string message)
    {
        message = Secrets.Redact(message);
        var line = _json ? FormatJson(level, selector, message) : FormatText(level, selector, message);
        lock (_gate)
        {
            try
            {
                _stderr?.Write(line);
                _stderr?.Flush();
                _file?.Write(line);
            }
            catch (IOException)
            {
                // A log destination that fails (disk full, closed stderr) must not take the shipper down.
            }
        }
    }

    public void Dispose() => _file?.Dispose();

    private string FormatText(LogLevel level, string selector, string message)
    {
        var sb = new StringBuilder(64 + message.Length);
        sb.Append(_time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        sb.Append('\t').Append(LevelName(level).ToUpperInvariant()).Append('\t');
        if (_prefix.Length > 0)
        {
            sb.Append(_prefix).Append(' ');
        }

        if (selector.Length > 0)
        {
            sb.Append('[').Append(selector).Append("]\t");
        }

        sb.Append(message).Append('\n');
        return sb.ToString();
    }

    private string FormatJson(LogLevel level, string selector, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + message.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("log.level", LevelName(level));
            writer.WriteString("@timestamp", _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            if (selector.Length > 0)
            {
                writer.WriteString("log.logger", selector);
            }

            if (_prefix.Length > 0)
            {
                writer.WriteString("process.role", _prefix.Trim('[', ']'));
            }

            writer.WriteString("message", message);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Debug => "debug",
        LogLevel.Info => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        _ => "critical",
    };
}
