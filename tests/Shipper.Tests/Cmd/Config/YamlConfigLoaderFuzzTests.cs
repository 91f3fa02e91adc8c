using CsCheck;
using Shipper.Config;
using Shipper.Module.Config;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Config;

/// <summary>
/// Fuzzes config loading end to end (YAML to settings, then <c>-E</c> overrides): whatever the file says, the
/// answer is settings or a <see cref="ConfigException"/> that says where the problem is, never another exception.
/// </summary>
public sealed class YamlConfigLoaderFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const string Source = "/etc/shipper/fuzz.yml";

    private readonly TempDirectory _data = new();

    [Fact]
    public void ADocumentEndMarkerBeforeTheSettingsIsAConfigErrorWithItsPlace()
    {
        var e = Assert.Throws<ConfigException>(() => new YamlConfigLoader().LoadText("...\noutput.console:\n  enabled: true\n", Source));
        Assert.Equal(Source, e.Location.Source);
    }

    [Fact]
    public void AFlowSequenceLeftOpenIsAConfigErrorWithItsPlace()
    {
        var e = Assert.Throws<ConfigException>(() => new YamlConfigLoader().LoadText("output.console:\n  enabled: [\npretty: false\n", Source));
        Assert.Equal(Source, e.Location.Source);
        Assert.True(e.Location.Line >= 2);
    }

    [Fact]
    public void ATagThatIsNotAUriIsAConfigErrorWithItsPlace()
    {
        // Found by the fuzzer in CI: YamlDotNet throws ArgumentException("Global tags must be valid URIs").
        var e = Assert.Throws<ConfigException>(() => new YamlConfigLoader().LoadText("output.console: !!binar]y aGk=\n  enabled: true\n", Source));
        Assert.Equal(Source, e.Location.Source);
        Assert.Equal(1, e.Location.Line);
        Assert.Contains("invalid YAML", e.Message);
    }

    private static string? Variables(string name) => name == "SHIPPER_FUZZ_SET" ? "set" : null;

    [Fact]
    public void AnyConfigFileGivesSettingsOrAnErrorWithItsPlace()
    {
        FuzzBudget.Run(output, "config file", YamlConfigText.Any, config =>
        {
            var text = config.Render();
            try
            {
                var root = new YamlConfigLoader().LoadText(text, Source);
                var paths = new PathSettings("", "", _data.Path, "");
                ConfigVariables.Expand(root, paths, Variables);
                ShipperSettings.Parse(root, paths, Source);
            }
            catch (ConfigException e)
            {
                Assert.True(e.Location.IsKnown, $"no place given: {e.Message}");
                Assert.False(string.IsNullOrWhiteSpace(e.Problem));
            }
        }, config => config.Render());
    }

    private static readonly string[] OverrideKeys =
    [
        "name", "tags", "fields", "fields.a.b", "queue.mem.events", "queue.mem.flush.timeout", "queue.disk.max_size",
        "output.console.enabled", "output.elasticsearch.hosts", "output.elasticsearch.bulk_max_size", "logging.level",
        "shipper.modules", "shipper.modules.0.datasets", "shipper.modules.0.process.hold_time", "shipper.modules.9.x",
        "http.port", "path.data", "watchdog.enabled", "a..b", ".x", "x.", "", " ", "é", "setup.template.enabled",
    ];

    [Fact]
    public void AnyOverrideGivesSettingsOrAnErrorWithItsPlace()
    {
        var gen = Gen.Select(Gen.OneOf(OverrideKeys), Gen.OneOf(YamlConfigText.OddScalars), Gen.Frequency<string>((4, Gen.Const("=")), (1, Gen.OneOf("", "==", " = "))))
            .Array[1, 4];
        var baseConfig = File.ReadAllText(YamlConfigText.RepoFile("config/shipper.yml"));
        FuzzBudget.Run(output, "config -E", gen, overrides =>
        {
            var items = overrides.Select(o => o.Item1 + o.Item3 + o.Item2).ToArray();
            try
            {
                var loader = new YamlConfigLoader();
                var root = loader.LoadText(baseConfig, Source);
                ConfigOverrides.Apply(root, items, loader);
                var paths = new PathSettings("", "", _data.Path, "");
                ConfigVariables.Expand(root, paths, Variables);
                ShipperSettings.Parse(root, paths, Source);
            }
            catch (ConfigException e)
            {
                Assert.True(e.Location.IsKnown, $"no place given: {e.Message}");
            }
        }, overrides => string.Join(" ", overrides.Select(o => $"-E '{o.Item1}{o.Item3}{o.Item2}'")));
    }

    public void Dispose() => _data.Dispose();
}
