using Shipper.Cli;
using Shipper.Config;
using Shipper.Logging;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Registry;
using Shipper.Worker;

namespace Shipper.Watchdog;

/// <summary>
/// <c>shipper run</c> with the watchdog on: check the whole configuration as <c>test config</c> does (so a
/// mistake fails at once with exit code 1 instead of as a crashing worker), then supervise a worker that
/// is this same binary with the same arguments but the <c>-E</c> overrides, which reach it over its link.
/// </summary>
public static class WatcherCommand
{
    /// <summary>True when this invocation of <c>run</c> must become the watcher.</summary>
    public static bool ShouldWatch(WatchdogSettings watchdog, CliOptions options) =>
        watchdog.Enabled && !options.DisableWatchdog && !WorkerWatchdog.IsWorkerProcess;

    public static int Run(ShipperSettings settings, WatchdogSettings watchdog, CliOptions options, IReadOnlyList<string> args, TextWriter stderr)
    {
        var check = ShipperWorker.Build(settings, new WorkerOptions { ForRun = false, StrictPerms = options.StrictPerms }, BuiltInDatasets.Create());
        check.DisposeAsync().AsTask().GetAwaiter().GetResult();

        using var log = OpenLog(settings, options, stderr);
        var secrets = log.Secrets;
        var command = WorkerCommand.ForThisProcess(CliParser.WithoutOverrides(args), options.Overrides);
        var watcher = new Watcher(watchdog, command, new Logger(log, "watchdog"), TimeProvider.System, line =>
        {
            // The worker's own lines, passed through as they are (redacted again: a worker that crashed
            // before its log writer existed may have printed anything).
            lock (stderr)
            {
                stderr.WriteLine(secrets.Redact(line));
                stderr.Flush();
            }
        }, settings.ShutdownTimeout);
        return watcher.RunUntilSignalled();
    }

    /// <summary>
    /// The watcher logs where the worker does, marked "watcher"; with files it gets its own
    /// (<c>&lt;name&gt;-watcher</c>), as two processes must not rotate one file.
    /// </summary>
    private static LogWriter OpenLog(ShipperSettings settings, CliOptions options, TextWriter stderr)
    {
        var logging = settings.Logging;
        var selectors = new List<string>(logging.Selectors);
        selectors.AddRange(options.DebugSelectors);
        var toStderr = options.LogToStderr || logging.ToStderr;
        RotatingFile? file = null;
        var warnings = new List<string>();
        if (!toStderr && logging.ToFiles)
        {
            var directory = logging.FilesPath ?? settings.Paths.Logs;
            PrivateDirectory.Prepare(directory, logging.FilesPath is null ? "path.logs" : "logging.files.path", options.StrictPerms, create: true, warnings);
            try
            {
                file = new RotatingFile(directory, logging.FilesName + "-watcher", logging.RotateEveryBytes, logging.KeepFiles);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException("logging.files.path", SourceLocation.None, $"cannot open the watcher's log file in {directory}: {e.Message}");
            }
        }

        var writer = new LogWriter(logging.Level, selectors, logging.Json, toStderr ? stderr : null, file, TimeProvider.System, prefix: "watcher", secrets: ConfiguredSecrets.From(settings.Root));
        foreach (var warning in warnings)
        {
            new Logger(writer, "watchdog").Warn(warning);
        }

        return writer;
    }
}
