using System.Collections.Concurrent;
using Shipper.Module.Logging;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>Keeps every log record so tests can assert on what was reported.</summary>
public sealed class TestLogSink : LogSink
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _records = new();

    public IReadOnlyList<(LogLevel Level, string Message)> Records => _records.ToArray();

    public Logger Logger(string selector = "elasticsearch") => new(this, selector);

    public override bool IsEnabled(LogLevel level, string selector) => true;

    public override void Write(LogLevel level, string selector, string message) => _records.Enqueue((level, message));

    public IEnumerable<string> Messages(LogLevel level) => Records.Where(r => r.Level == level).Select(r => r.Message);

    public string All => string.Join("\n", Records.Select(r => $"{r.Level}: {r.Message}"));
}
