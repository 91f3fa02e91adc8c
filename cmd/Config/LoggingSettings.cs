using Shipper.Module.Config;
using Shipper.Module.Logging;

namespace Shipper.Config;

/// <summary><c>logging.*</c>, as beats: level, selectors, stderr or rotating files, JSON, periodic metrics.</summary>
public sealed record LoggingSettings(
    LogLevel Level,
    IReadOnlyList<string> Selectors,
    bool ToStderr,
    bool ToFiles,
    bool Json,
    string? FilesPath,
    string FilesName,
    long RotateEveryBytes,
    int KeepFiles,
    bool MetricsEnabled,
    TimeSpan MetricsPeriod)
{
    public static LoggingSettings Parse(ConfigSection logging)
    {
        var level = logging.Choice("level", "info", "debug", "info", "warning", "error", "critical") switch
        {
            "debug" => LogLevel.Debug,
            "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "critical" => LogLevel.Critical,
            _ => LogLevel.Info,
        };
        var files = logging.Section("files");
        return new LoggingSettings(
            level,
            logging.StringList("selectors", Array.Empty<string>()),
            logging.Bool("to_stderr", false),
            logging.Bool("to_files", true),
            logging.Bool("json", false),
            files.OptionalString("path"),
            files.String("name", "shipper"),
            files.Size("rotateeverybytes", 10 * 1024 * 1024, min: 1024),
            files.Int("keepfiles", 7, min: 2, max: 1024),
            logging.Bool("metrics.enabled", true),
            logging.Duration("metrics.period", TimeSpan.FromSeconds(30), min: TimeSpan.FromMilliseconds(100)));
    }
}
