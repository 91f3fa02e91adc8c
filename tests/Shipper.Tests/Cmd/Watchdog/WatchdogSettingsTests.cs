using Shipper.Module.Config;
using Shipper.Watchdog;

namespace Shipper.Tests.Cmd.Watchdog;

public class WatchdogSettingsTests
{
    private const long MB = 1024 * 1024;

    [Fact]
    public void AbsentSectionGivesTheNormalLevel()
    {
        var settings = WatchdogSettings.Parse(ConfigSection.Empty("watchdog"));
        Assert.Equal(WatchdogLevel.Normal, settings.Level);
        Assert.True(settings.Enabled);
        Assert.Equal(200 * MB, settings.MemoryLimitBytes);
        Assert.Equal(10, settings.UtilizationLimitPercent);
        Assert.Equal(4, settings.RespawnLimit);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.RespawnDelay);
        Assert.Equal(TimeSpan.FromSeconds(12), settings.LatencyLimit);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.Interval);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.Delay);
        Assert.Equal(TimeSpan.FromSeconds(4), settings.ForcedShutdownDelay);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.PublisherStall);
        Assert.False(settings.PublisherStallExit);
    }

    [Fact]
    public void RestrictiveLevelUsesOsquerysTable()
    {
        var settings = WatchdogSettings.Parse(Config.Section("watchdog", ("level", "1")));
        Assert.Equal(WatchdogLevel.Restrictive, settings.Level);
        Assert.Equal(100 * MB, settings.MemoryLimitBytes);
        Assert.Equal(5, settings.UtilizationLimitPercent);
        Assert.Equal(4, settings.RespawnLimit);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.RespawnDelay);
        Assert.Equal(TimeSpan.FromSeconds(6), settings.LatencyLimit);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.Interval);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("off")]
    public void OffLevelDisablesTheWatcher(string level)
    {
        var settings = WatchdogSettings.Parse(Config.Section("watchdog", ("level", level)));
        Assert.Equal(WatchdogLevel.Off, settings.Level);
        Assert.False(settings.Enabled);
        Assert.Equal(10000 * MB, settings.MemoryLimitBytes);
        Assert.Equal(1000, settings.RespawnLimit);
        Assert.Equal(TimeSpan.FromSeconds(1000), settings.LatencyLimit);
    }

    [Fact]
    public void ExplicitKeysOverrideTheLevel()
    {
        var settings = WatchdogSettings.Parse(Config.Section("watchdog",
            ("level", "restrictive"),
            ("memory_limit", "300"),
            ("utilization_limit", "2.5%"),
            ("latency_limit", "1s"),
            ("delay", "0"),
            ("forced_shutdown_delay", "500ms"),
            ("respawn_limit", "2"),
            ("respawn_delay", "100ms"),
            ("interval", "200ms"),
            ("publisher_stall", "2m"),
            ("publisher_stall_exit", "true")));
        Assert.Equal(WatchdogLevel.Restrictive, settings.Level);
        Assert.Equal(300 * MB, settings.MemoryLimitBytes);
        Assert.Equal(2.5, settings.UtilizationLimitPercent);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.LatencyLimit);
        Assert.Equal(TimeSpan.Zero, settings.Delay);
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.ForcedShutdownDelay);
        Assert.Equal(2, settings.RespawnLimit);
        Assert.Equal(TimeSpan.FromMilliseconds(100), settings.RespawnDelay);
        Assert.Equal(TimeSpan.FromMilliseconds(200), settings.Interval);
        Assert.Equal(TimeSpan.FromMinutes(2), settings.PublisherStall);
        Assert.True(settings.PublisherStallExit);
    }

    [Theory]
    [InlineData("300", 300 * MB)]
    [InlineData("300MiB", 300 * MB)]
    [InlineData("300MB", 300_000_000)]
    [InlineData("1 GiB", 1024 * MB)]
    [InlineData("0.5", MB / 2)]
    public void MemoryLimitIsMegabytesOrASize(string text, long bytes)
    {
        if (bytes < MB)
        {
            var error = Assert.Throws<ConfigException>(() => WatchdogSettings.Parse(Config.Section("watchdog", ("memory_limit", text))));
            Assert.Contains("at least 1 MB", error.Message);
            return;
        }

        Assert.Equal(bytes, WatchdogSettings.Parse(Config.Section("watchdog", ("memory_limit", text))).MemoryLimitBytes);
    }

    [Theory]
    [InlineData("level", "2", "not a watchdog level")]
    [InlineData("memory_limit", "lots", "expected megabytes")]
    [InlineData("memory_limit", "-5", "out of range")]
    [InlineData("utilization_limit", "0", "out of range")]
    [InlineData("utilization_limit", "150%", "out of range")]
    [InlineData("utilization_limit", "ten", "expected a percentage")]
    [InlineData("latency_limit", "soon", "expected a duration")]
    [InlineData("respawn_limit", "0", "out of range")]
    [InlineData("interval", "1ms", "out of range")]
    [InlineData("publisher_stall_exit", "maybe", "expected true or false")]
    public void ErrorsNameTheKeyAndWhereItWasWritten(string key, string value, string problem)
    {
        var error = Assert.Throws<ConfigException>(() => WatchdogSettings.Parse(Config.Section("watchdog", ("level", "0"), (key, value))));
        Assert.Equal("watchdog." + key, error.Path);
        Assert.Contains("shipper.yml:", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void TheHeartbeatTimeoutIsThirtySecondsZeroTurnsItOffAndItMustCoverTwoIntervals()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), WatchdogSettings.Parse(ConfigSection.Empty("watchdog")).HeartbeatTimeout);
        Assert.Equal(TimeSpan.Zero, WatchdogSettings.Parse(Config.Section("watchdog", ("heartbeat_timeout", "0"))).HeartbeatTimeout);
        var fast = WatchdogSettings.Parse(Config.Section("watchdog", ("interval", "200ms"), ("heartbeat_timeout", "2s")));
        Assert.Equal(TimeSpan.FromSeconds(2), fast.HeartbeatTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(200), fast.HeartbeatPeriod);

        var error = Assert.Throws<ConfigException>(() => WatchdogSettings.Parse(Config.Section("watchdog", ("interval", "3s"), ("heartbeat_timeout", "5s"))));
        Assert.Equal("watchdog.heartbeat_timeout", error.Path);
        Assert.Contains("shipper.yml:3:3", error.Message);
        Assert.Contains("must be at least twice watchdog.interval (3s)", error.Message);

        error = Assert.Throws<ConfigException>(() => WatchdogSettings.Parse(Config.Section("watchdog", ("interval", "1m"))));
        Assert.Equal("watchdog.interval", error.Path);

        error = Assert.Throws<ConfigException>(() => WatchdogSettings.Parse(Config.Section("watchdog", ("heartbeat_timeout", "soon"))));
        Assert.Contains("expected a duration", error.Message);
    }

    [Fact]
    public void EveryKeyIsMarkedKnownAndATypoIsNot()
    {
        var section = Config.Section("watchdog", ("level", "0"), ("memory_limt", "100"), ("interval", "1s"));
        WatchdogSettings.Parse(section);
        var error = Assert.Throws<ConfigException>(() => section.Tracker.EnsureAllConsumed(section.Map));
        Assert.Contains("unknown setting 'watchdog.memory_limt'", error.Message);
    }
}
