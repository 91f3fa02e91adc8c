using System.Globalization;
using Shipper.Module.Config;

namespace Shipper.Watchdog;

/// <summary>
/// The <c>watchdog.*</c> settings. The level picks osquery's defaults for every limit; a key that is written
/// explicitly overrides its level's value.
/// </summary>
public sealed record WatchdogSettings
{
    public const long MegaByte = 1024 * 1024;

    public WatchdogLevel Level { get; init; } = WatchdogLevel.Normal;

    /// <summary>Resident memory the worker may grow above its first reading after <see cref="Delay"/>.</summary>
    public long MemoryLimitBytes { get; init; } = 200 * MegaByte;

    /// <summary>User + system CPU, in percent of all cores, above which an interval counts as over.</summary>
    public double UtilizationLimitPercent { get; init; } = 10;

    /// <summary>How long the CPU may stay over <see cref="UtilizationLimitPercent"/> before the worker is stopped.</summary>
    public TimeSpan LatencyLimit { get; init; } = TimeSpan.FromSeconds(12);

    /// <summary>Limits apply only this long after a worker starts (start-up work and the initial snapshot are expensive).</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a worker may drain after SIGTERM before it gets SIGKILL.</summary>
    public TimeSpan ForcedShutdownDelay { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>How many times in a row the worker may die shortly after its start before the watcher gives up.</summary>
    public int RespawnLimit { get; init; } = 4;

    /// <summary>The pause before a new worker is started.</summary>
    public TimeSpan RespawnDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the watcher measures the worker (and the worker checks that its watcher lives).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Events queued but nothing acknowledged for this long counts as a publisher stall.</summary>
    public TimeSpan PublisherStall { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether a publisher stall makes the worker exit so the watcher starts a fresh one.</summary>
    public bool PublisherStallExit { get; init; }

    /// <summary>
    /// A worker that sends no heartbeat for this long (stopped, deadlocked, its netlink reader stuck) is killed
    /// and replaced; <see cref="TimeSpan.Zero"/> turns the check off. At least twice <see cref="Interval"/>, as
    /// the watcher looks once per interval.
    /// </summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the worker sends its heartbeat: a quarter of the timeout, at most once per interval.</summary>
    public TimeSpan HeartbeatPeriod => HeartbeatTimeout / 4 < Interval ? HeartbeatTimeout / 4 : Interval;

    /// <summary>False for level -1: no watcher process, the worker runs in the shipper's own process.</summary>
    public bool Enabled => Level != WatchdogLevel.Off;

    /// <summary>osquery's table of limits for a level (FACTS §9).</summary>
    public static WatchdogSettings ForLevel(WatchdogLevel level) => level switch
    {
        WatchdogLevel.Normal => new WatchdogSettings(),
        WatchdogLevel.Restrictive => new WatchdogSettings
        {
            Level = level,
            MemoryLimitBytes = 100 * MegaByte,
            UtilizationLimitPercent = 5,
            LatencyLimit = TimeSpan.FromSeconds(6),
        },
        WatchdogLevel.Off => new WatchdogSettings
        {
            Level = level,
            MemoryLimitBytes = 10000 * MegaByte,
            UtilizationLimitPercent = 100,
            RespawnLimit = 1000,
            RespawnDelay = TimeSpan.FromSeconds(1),
            LatencyLimit = TimeSpan.FromSeconds(1000),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, "unknown watchdog level"),
    };

    /// <summary>Reads the <c>watchdog</c> section; an absent section gives the normal level's defaults.</summary>
    public static WatchdogSettings Parse(ConfigSection watchdog)
    {
        var level = ParseLevel(watchdog);
        var defaults = ForLevel(level);
        var settings = defaults with
        {
            MemoryLimitBytes = ParseMemoryLimit(watchdog, defaults.MemoryLimitBytes),
            UtilizationLimitPercent = ParsePercent(watchdog, "utilization_limit", defaults.UtilizationLimitPercent),
            LatencyLimit = watchdog.Duration("latency_limit", defaults.LatencyLimit, TimeSpan.FromMilliseconds(1)),
            Delay = watchdog.Duration("delay", defaults.Delay),
            ForcedShutdownDelay = watchdog.Duration("forced_shutdown_delay", defaults.ForcedShutdownDelay, TimeSpan.Zero, TimeSpan.FromMinutes(10)),
            RespawnLimit = watchdog.Int("respawn_limit", defaults.RespawnLimit, 1),
            RespawnDelay = watchdog.Duration("respawn_delay", defaults.RespawnDelay, TimeSpan.Zero, TimeSpan.FromHours(1)),
            Interval = watchdog.Duration("interval", defaults.Interval, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1)),
            PublisherStall = watchdog.Duration("publisher_stall", defaults.PublisherStall, TimeSpan.FromMilliseconds(10)),
            PublisherStallExit = watchdog.Bool("publisher_stall_exit", defaults.PublisherStallExit),
            HeartbeatTimeout = watchdog.Duration("heartbeat_timeout", defaults.HeartbeatTimeout, TimeSpan.Zero, TimeSpan.FromHours(1)),
        };

        if (settings.HeartbeatTimeout > TimeSpan.Zero && settings.HeartbeatTimeout < settings.Interval * 2)
        {
            var key = watchdog.Has("heartbeat_timeout") ? "heartbeat_timeout" : "interval";
            throw watchdog.Error(key, $"heartbeat_timeout {ValueParsers.FormatDuration(settings.HeartbeatTimeout)} must be at least twice watchdog.interval ({ValueParsers.FormatDuration(settings.Interval)}): the watcher looks once per interval (0 turns the heartbeat off)");
        }

        return settings;
    }

    private static WatchdogLevel ParseLevel(ConfigSection watchdog)
    {
        var text = watchdog.OptionalString("level");
        if (text is null)
        {
            return WatchdogLevel.Normal;
        }

        switch (text.Trim().ToLowerInvariant())
        {
            case "-1" or "off":
                return WatchdogLevel.Off;
            case "0" or "normal":
                return WatchdogLevel.Normal;
            case "1" or "restrictive":
                return WatchdogLevel.Restrictive;
            default:
                throw watchdog.Error("level", $"'{text}' is not a watchdog level: use -1 (off, no watcher), 0 (normal) or 1 (restrictive)");
        }
    }

    /// <summary>A bare number is megabytes, as osquery's flag; a size with a unit ("300MB", "1 GiB") is taken as written.</summary>
    private static long ParseMemoryLimit(ConfigSection watchdog, long defaultBytes)
    {
        var text = watchdog.OptionalString("memory_limit");
        if (text is null)
        {
            return defaultBytes;
        }

        var trimmed = text.Trim();
        long bytes;
        if (double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var megabytes))
        {
            if (double.IsNaN(megabytes) || megabytes <= 0 || megabytes > long.MaxValue / MegaByte)
            {
                throw watchdog.Error("memory_limit", $"{trimmed} is out of range: must be more than 0 MB");
            }

            bytes = (long)(megabytes * MegaByte);
        }
        else if (!ValueParsers.TryParseSize(trimmed, out bytes))
        {
            throw watchdog.Error("memory_limit", $"expected megabytes (200) or a size such as 300MB or 1 GiB, got '{text}'");
        }

        if (bytes < MegaByte)
        {
            throw watchdog.Error("memory_limit", $"{trimmed} is out of range: must be at least 1 MB");
        }

        return bytes;
    }

    /// <summary>A percentage written as 10, 10.5 or "10%".</summary>
    private static double ParsePercent(ConfigSection watchdog, string key, double defaultValue)
    {
        var text = watchdog.OptionalString(key);
        if (text is null)
        {
            return defaultValue;
        }

        var trimmed = text.Trim();
        if (trimmed.EndsWith('%'))
        {
            trimmed = trimmed[..^1].TrimEnd();
        }

        if (!double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) || double.IsNaN(percent))
        {
            throw watchdog.Error(key, $"expected a percentage of all cores such as 10 or 2.5%, got '{text}'");
        }

        if (percent <= 0 || percent > 100)
        {
            throw watchdog.Error(key, $"{text} is out of range: must be more than 0 and at most 100 (percent of all cores)");
        }

        return percent;
    }

    public string MemoryLimitText => FormatBytes(MemoryLimitBytes);

    public static string FormatBytes(long bytes) =>
        (bytes / (double)MegaByte).ToString(bytes % MegaByte == 0 ? "0" : "0.0", CultureInfo.InvariantCulture) + " MB";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"level {(int)Level}, memory_limit {MemoryLimitText}, utilization_limit {UtilizationLimitPercent}%, latency_limit {ValueParsers.FormatDuration(LatencyLimit)}, delay {ValueParsers.FormatDuration(Delay)}, interval {ValueParsers.FormatDuration(Interval)}, respawn_limit {RespawnLimit}, respawn_delay {ValueParsers.FormatDuration(RespawnDelay)}, forced_shutdown_delay {ValueParsers.FormatDuration(ForcedShutdownDelay)}, heartbeat_timeout {(HeartbeatTimeout > TimeSpan.Zero ? ValueParsers.FormatDuration(HeartbeatTimeout) : "off")}");
}
