using Shipper.Config;
using Shipper.Module.Config;
using Shipper.Module.Registry;
using Shipper.Tests.Support;
using Shipper.Worker;

namespace Shipper.Tests.Cmd.Config;

public class ConfigLoaderTests
{
    private const string Minimal = """
        shipper.modules:
          - module: system
            datasets: [process]
        output.console:
          enabled: true
        """;

    private static readonly PathSettings NoPaths = new("", "", "", "");

    private static ShipperSettings Load(TempConfig config, IReadOnlyList<string>? overrides = null, Func<string, string?>? env = null) =>
        ConfigLoader.Load(config.Path, true, overrides ?? Array.Empty<string>(), NoPaths, strictPerms: true, env);

    /// <summary>Loads and builds the worker without running it, which is what `test config` does.</summary>
    private static ShipperSettings Validate(string yaml, IReadOnlyList<string>? overrides = null, Func<string, string?>? env = null)
    {
        using var config = new TempConfig(yaml);
        var settings = Load(config, overrides, env);
        ShipperWorker.Build(settings, new WorkerOptions { ForRun = false }, BuiltInDatasets.Create()).DisposeAsync().AsTask().Wait();
        return settings;
    }

    private static ConfigException ExpectError(string yaml, IReadOnlyList<string>? overrides = null, Func<string, string?>? env = null) =>
        Assert.Throws<ConfigException>(() => Validate(yaml, overrides, env));

    [Fact]
    public void DefaultsApplyWhenTheFileSaysNothing()
    {
        var settings = Validate(Minimal);
        Assert.Equal(3200, settings.Queue.Events);
        Assert.Equal(1600, settings.Queue.FlushMinEvents);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.Queue.FlushTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.ShutdownTimeout);
        Assert.Equal("console", settings.OutputName);
        Assert.False(settings.Http.Enabled);
        Assert.Equal(5066, settings.Http.Port);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Logging.MetricsPeriod);
    }

    [Fact]
    public void DottedKeysAndNestedMapsMeanTheSame()
    {
        var dotted = Validate(Minimal + "\nqueue.mem.events: 100\nqueue.mem.flush.min_events: 10\n");
        var nested = Validate(Minimal + "\nqueue:\n  mem:\n    events: 100\n    flush:\n      min_events: 10\n");
        Assert.Equal(dotted.Queue, nested.Queue);
        Assert.Equal(100, dotted.Queue.Events);
        Assert.Equal(10, dotted.Queue.FlushMinEvents);
    }

    [Fact]
    public void QueueMemBytesIsASizeWithADefaultAndARange()
    {
        Assert.Equal(64L * 1024 * 1024, Validate(Minimal).Queue.Bytes);
        Assert.Equal(8L * 1024 * 1024, Validate(Minimal + "\nqueue.mem.bytes: 8 MiB\n").Queue.Bytes);
        var error = ExpectError(Minimal + "\nqueue.mem.bytes: 1000\n");
        Assert.Equal("queue.mem.bytes", error.Path);
        Assert.Contains("1000", error.Message);
    }

    [Fact]
    public void DottedAndNestedWritingsOfOneMapMerge()
    {
        var settings = Validate(Minimal + "\nqueue.mem.events: 100\nqueue:\n  mem:\n    flush.timeout: 2s\n");
        Assert.Equal(100, settings.Queue.Events);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.Queue.FlushTimeout);
    }

    [Fact]
    public void AuditbeatModulesIsAnAlias()
    {
        var settings = Validate("""
            auditbeat.modules:
              - module: system
                datasets: [process]
                state.period: 1h
            output.console: {}
            """);
        Assert.Single(settings.Modules);
        Assert.Equal("system", settings.Modules[0].Module);
    }

    [Fact]
    public void EnvironmentVariablesExpandWithDefaults()
    {
        var env = new Dictionary<string, string> { ["QUEUE_SIZE"] = "77" };
        var settings = Validate(Minimal + "\nqueue.mem.events: ${QUEUE_SIZE}\nname: ${SHIPPER_NAME:edge-1}\n", env: k => env.GetValueOrDefault(k));
        Assert.Equal(77, settings.Queue.Events);
        Assert.Equal("edge-1", settings.Name);
    }

    [Fact]
    public void AnUnsetVariableWithoutDefaultIsAnErrorNamingIt()
    {
        var error = ExpectError(Minimal + "\nname: ${NOT_SET_ANYWHERE}\n", env: _ => null);
        Assert.Contains("NOT_SET_ANYWHERE", error.Message);
        Assert.Equal("name", error.Path);
        Assert.Equal(6, error.Location.Line);
    }

    [Fact]
    public void OverridesWinAndAreTypedLikeYaml()
    {
        var settings = Validate(Minimal + "\nqueue.mem.events: 100\n", new[] { "queue.mem.events=200", "tags=[a, b]", "http.enabled=true", "name=\"007\"" });
        Assert.Equal(200, settings.Queue.Events);
        Assert.Equal(new[] { "a", "b" }, settings.Tags);
        Assert.True(settings.Http.Enabled);
        Assert.Equal("007", settings.Name);
    }

    [Fact]
    public void OverridesCanReachIntoListItems()
    {
        var error = ExpectError(Minimal, new[] { "shipper.modules.0.enabled=false" });
        Assert.Contains("no dataset is enabled", error.Message);
    }

    [Fact]
    public void UnknownKeysAreErrorsWithPathAndPosition()
    {
        var error = ExpectError(Minimal + "\nqueue.mem.evnts: 10\n");
        Assert.Equal("queue.mem.evnts", error.Path);
        Assert.Equal(6, error.Location.Line);
        Assert.Contains("unknown setting 'queue.mem.evnts'", error.Message);
        Assert.Contains("shipper.yml:6:", error.Message);
    }

    [Fact]
    public void UnknownKeysInsideModulesAreErrors()
    {
        var error = ExpectError("""
            shipper.modules:
              - module: system
                datasets: [process]
                procss.backend: netlink
            output.console: {}
            """);
        Assert.Contains("procss", error.Path);
        Assert.Equal(4, error.Location.Line);
    }

    [Fact]
    public void WrongTypesAreErrors()
    {
        var error = ExpectError(Minimal + "\nqueue.mem.events: lots\n");
        Assert.Equal("queue.mem.events", error.Path);
        Assert.Contains("expected a whole number, got 'lots'", error.Message);

        error = ExpectError(Minimal + "\nhttp.enabled: maybe\n");
        Assert.Contains("expected true or false", error.Message);

        error = ExpectError(Minimal + "\nqueue.mem.flush.timeout: soon\n");
        Assert.Contains("expected a duration", error.Message);

        error = ExpectError(Minimal + "\nqueue: [1, 2]\n");
        Assert.Contains("expected a map of settings", error.Message);
    }

    [Fact]
    public void OutOfRangeValuesAreErrors()
    {
        var error = ExpectError(Minimal + "\nhttp.port: 70000\n");
        Assert.Equal("http.port", error.Path);
        Assert.Contains("out of range", error.Message);

        error = ExpectError(Minimal + "\nqueue.mem.events: 10\nqueue.mem.flush.min_events: 20\n");
        Assert.Contains("must not exceed", error.Message);
    }

    [Fact]
    public void TwoEnabledOutputsAreAnError()
    {
        var error = ExpectError(Minimal + "\noutput.elasticsearch:\n  hosts: [localhost]\n");
        Assert.Contains("only one output may be enabled", error.Message);
        Assert.Equal(7, error.Location.Line);
    }

    [Fact]
    public void NoOutputIsAnError()
    {
        var error = ExpectError("shipper.modules:\n  - module: system\n    datasets: [process]\n");
        Assert.Contains("no output is enabled", error.Message);

        error = ExpectError(Minimal.Replace("enabled: true", "enabled: false"));
        Assert.Contains("no output is enabled", error.Message);
    }

    [Fact]
    public void UnknownModulesAndDatasetsListTheKnownOnes()
    {
        var error = ExpectError("shipper.modules:\n  - module: auditd\n    datasets: [rules]\noutput.console: {}\n");
        Assert.Contains("unknown module 'auditd'", error.Message);
        Assert.Contains("known modules: system", error.Message);

        error = ExpectError("shipper.modules:\n  - module: system\n    datasets: [socket]\noutput.console: {}\n");
        Assert.Contains("unknown dataset 'socket'", error.Message);
        Assert.Contains("system/process", error.Message);
        Assert.Equal(3, error.Location.Line);
    }

    [Fact]
    public void InvalidYamlNamesThePosition()
    {
        var error = ExpectError("shipper.modules:\n  - module: system\n   datasets: [process\n");
        Assert.StartsWith("config error", error.Message);
        Assert.Contains("invalid YAML", error.Message);
        Assert.True(error.Location.Line >= 2);
    }

    [Fact]
    public void StrictPermissionsRefuseAGroupWritableFile()
    {
        using var config = new TempConfig(Minimal);
        File.SetUnixFileMode(config.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite);
        var error = Assert.Throws<ConfigException>(() => Load(config));
        Assert.Contains(config.Path, error.Message);
        Assert.Contains("chmod go-w", error.Message);

        // --strict.perms=false turns the check off.
        var settings = ConfigLoader.Load(config.Path, true, Array.Empty<string>(), NoPaths, strictPerms: false);
        Assert.Equal("console", settings.OutputName);
    }

    [Fact]
    public void AMissingFileIsAClearError()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load("/nonexistent/shipper.yml", true, Array.Empty<string>(), NoPaths, true));
        Assert.Contains("/nonexistent/shipper.yml not found", error.Message);
    }

    [Fact]
    public void SizesAndDurationsParseLikeBeats()
    {
        var settings = Validate(Minimal + "\nlogging.files.rotateeverybytes: 50mb\nlogging.metrics.period: 500ms\n");
        Assert.Equal(50_000_000, settings.Logging.RotateEveryBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.Logging.MetricsPeriod);
    }

    [Fact]
    public void CustomFieldsUnderRootMayNotOverwriteEnvelopeFields()
    {
        var error = ExpectError(Minimal + "\nfields_under_root: true\nfields:\n  agent: x\n");
        Assert.Contains("custom field 'agent'", error.Message);
    }

    [Fact]
    public void AuditbeatCompatibilitySettingsAreAcceptedAndReported()
    {
        var settings = Validate(Minimal + "\nsetup.kibana:\n  host: localhost:5601\nprocessors:\n  - add_host_metadata: ~\n  - add_cloud_metadata: ~\n");
        Assert.Contains(settings.Ignored, l => l.Contains("setup.kibana"));
        Assert.Contains(settings.Ignored, l => l.Contains("add_cloud_metadata"));
    }

    [Fact]
    public void PathReferencesResolveAsTheReferenceConfigWritesThem()
    {
        var settings = Validate(Minimal + "\npath.home: /opt/shipper\nname: ${path.home}|${path.config}|${path.data}|${path.logs}\n", env: _ => null);
        Assert.Equal("/opt/shipper|/opt/shipper|/opt/shipper/data|/opt/shipper/logs", settings.Name);
    }

    [Fact]
    public void PathReferencesDefaultToTheBinarysDirectory()
    {
        var settings = Validate(Minimal + "\nname: ${path.home}\n", env: _ => null);
        Assert.Equal(AppContext.BaseDirectory.TrimEnd('/'), settings.Name);
    }

    [Fact]
    public void PathReferencesFollowFlagsAndOverrides()
    {
        using var config = new TempConfig(Minimal + "\npath.home: /opt/shipper\npath.logs: ${path.home}/log\nname: ${path.data}+${path.logs}\n");
        var flags = ConfigLoader.Load(config.Path, true, Array.Empty<string>(), new PathSettings("/srv/h", "", "", ""), strictPerms: true, _ => null);
        Assert.Equal("/srv/h/data+/srv/h/log", flags.Name);
        Assert.Equal("/srv/h/log", flags.Paths.Logs);

        var overridden = Load(config, new[] { "path.home=/var/lib/s" }, _ => null);
        Assert.Equal("/var/lib/s/data+/var/lib/s/log", overridden.Name);
    }

    [Fact]
    public void APathThatRefersToItselfIsAnError()
    {
        var error = ExpectError(Minimal + "\npath.home: ${path.home}/x\n", env: _ => null);
        Assert.Contains("path.home refers to itself", error.Message);
    }

    [Fact]
    public void NestedDefaultsExpand()
    {
        var env = new Dictionary<string, string> { ["B"] = "from-b" };
        var settings = Validate(Minimal + "\nname: ${A:${B}}\ntags: ['${A:${C:${D:deep}}}', '${B:${UNSET}}', 'x-${A:}-y']\n", env: k => env.GetValueOrDefault(k));
        Assert.Equal("from-b", settings.Name);
        Assert.Equal(new[] { "deep", "from-b", "x--y" }, settings.Tags);
    }

    [Fact]
    public void DefaultsNestedBeyondTheLimitAreAnError()
    {
        var reference = "x";
        for (var i = 0; i < 20_000; i++)
        {
            reference = "${V" + i + ":" + reference + "}";
        }

        var error = ExpectError(Minimal + "\nname: '" + reference + "'\n", env: _ => null);
        Assert.Contains($"nested more than {ConfigLimits.MaxReferenceNesting} deep", error.Message);
    }

    [Fact]
    public void AnOverrideNestedBeyondTheLimitIsAnError()
    {
        var deepKey = string.Join('.', Enumerable.Repeat("k", 20_000));
        var error = ExpectError(Minimal, new[] { deepKey + "=1" });
        Assert.Contains($"nested more than {ConfigLimits.MaxDepth} levels deep", error.Message);

        error = ExpectError(Minimal, new[] { "fields.x=" + new string('[', 20_000) + new string(']', 20_000) });
        Assert.Contains($"nested more than {ConfigLimits.MaxDepth} levels deep", error.Message);
        Assert.Contains("-E fields.x", error.Message);
    }

    [Fact]
    public void FieldsPastTheDepthLimitAreAConfigErrorAndAtTheLimitGoIntoEveryDocument()
    {
        static string Nested(int levels)
        {
            var yaml = new System.Text.StringBuilder(Minimal + "\nfields:\n");
            for (var i = 1; i < levels; i++)
            {
                yaml.Append(' ', 2 * i).Append("k:\n");
            }

            return yaml.Append(' ', 2 * levels).Append("v\n").ToString();
        }

        // At 62 levels the shared part of every document used to fail to encode (JSON readers stop at 64).
        var error = ExpectError(Nested(62));
        Assert.Contains($"nested more than {ConfigLimits.MaxDepth} levels deep", error.Message);

        var settings = Validate(Nested(ConfigLimits.MaxDepth));
        var agent = new Shipper.Events.AgentInfo { Name = "edge-1", Version = "1.2.3", Id = "agent-id", EphemeralId = "ephemeral" };
        var writer = new Shipper.Events.DocumentWriter(agent, Shipper.Events.HostInfo.Read(), Array.Empty<string>(), settings.Fields, false);
        Assert.Same(agent, writer.Agent);
    }
}
