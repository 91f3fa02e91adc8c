using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Worker;

/// <summary>How to build a worker: where logs and documents go, and whether this is a real run.</summary>
public sealed class WorkerOptions
{
    public bool LogToStderr { get; init; }

    public IReadOnlyList<string> DebugSelectors { get; init; } = Array.Empty<string>();

    /// <summary>Where console documents go (stdout in production).</summary>
    public Stream? Stdout { get; init; }

    public TextWriter Stderr { get; init; } = TextWriter.Null;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>False for <c>test config</c>: nothing is written to path.data or the log files.</summary>
    public bool ForRun { get; init; } = true;

    /// <summary>
    /// <c>--strict.perms</c>: refuse a path.data or path.logs that others can write in (else only warn).
    /// </summary>
    public bool StrictPerms { get; init; } = true;

    /// <summary>What the watchdog heartbeat reports on; the datasets register their loops in it.</summary>
    public WorkerProgress Progress { get; init; } = new();

    /// <summary>Overrides the log sink (tests).</summary>
    public LogSink? LogSink { get; init; }
}
