using System.Collections.Concurrent;
using Shipper.Module.Logging;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Watchdog;

/// <summary>A log sink that keeps every record (and forwarded worker line) so tests can wait for and inspect them.</summary>
public sealed class CapturedLog : LogSink
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ITestOutputHelper? _output;
    private readonly DateTime _start = DateTime.UtcNow;

    public CapturedLog(ITestOutputHelper? output = null)
    {
        _output = output;
    }

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public string Text => string.Join('\n', _lines);

    public Logger Logger(string selector) => new(this, selector);

    public override bool IsEnabled(LogLevel level, string selector) => true;

    public override void Write(LogLevel level, string selector, string message) => Add($"{level} [{selector}] {message}");

    /// <summary>For the watcher's forwardWorkerLine.</summary>
    public void Forwarded(string line) => Add("worker| " + line);

    public void Add(string line)
    {
        _lines.Enqueue(line);
        try
        {
            _output?.WriteLine($"{(DateTime.UtcNow - _start).TotalSeconds,7:0.000} {line}");
        }
        catch (InvalidOperationException)
        {
            // The test already finished.
        }
    }

    /// <summary>Waits until a line contains <paramref name="fragment"/> (after skipping <paramref name="skip"/> such lines); fails with the log.</summary>
    public string WaitFor(string fragment, TimeSpan timeout, int skip = 0) => WaitFor(line => line.Contains(fragment, StringComparison.Ordinal), fragment, timeout, skip);

    public string WaitFor(Func<string, bool> match, string what, TimeSpan timeout, int skip = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var seen = 0;
            foreach (var line in _lines)
            {
                if (match(line) && seen++ == skip)
                {
                    return line;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"no log line with '{what}' within {timeout.TotalSeconds}s; log:\n{Text}");
            }

            Thread.Sleep(10);
        }
    }
}
