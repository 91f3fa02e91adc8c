using System.Collections.Concurrent;
using Shipper.Module.Logging;

namespace Shipper.Tests.Support;

/// <summary>Keeps log lines so tests can assert what a user would read in the log.</summary>
public sealed class CollectingLogSink : LogSink
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines.ToArray();

    public override bool IsEnabled(LogLevel level, string selector) => true;

    public override void Write(LogLevel level, string selector, string message) => _lines.Enqueue($"{level} [{selector}] {message}");
}
