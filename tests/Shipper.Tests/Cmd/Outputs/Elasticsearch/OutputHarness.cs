using Shipper.IndexManagement;
using Shipper.Module.Config;
using Shipper.Module.Monitoring;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>An output built from YAML settings, with its metrics and log at hand.</summary>
public sealed class OutputHarness : IAsyncDisposable
{
    /// <param name="ilmYaml"><c>setup.ilm</c> settings; null for none (ILM off, as the tests that predate it expect).</param>
    public OutputHarness(string outputYaml, string templateYaml = "", TimeProvider? time = null, string? ilmYaml = null)
    {
        Settings = ElasticsearchSettings.Parse(TestConfig.Section(outputYaml), Log.Logger());
        Template = TemplateSettings.Parse(TestConfig.Section(templateYaml, "setup.template"), Settings);
        Ilm = ilmYaml is null ? null : IlmSettings.Parse(TestConfig.Section(ilmYaml, "setup.ilm"), ConfigSection.Empty("setup.dsl"), Directory.GetCurrentDirectory());
        Output = new ElasticsearchOutput(Settings, Template, TestDocuments.Writer, Metrics, Log.Logger(), time ?? TimeProvider.System, Ilm);
    }

    public IlmSettings? Ilm { get; }

    public TestLogSink Log { get; } = new();

    public MetricsRegistry Metrics { get; } = new();

    public ElasticsearchSettings Settings { get; }

    public TemplateSettings Template { get; }

    public ElasticsearchOutput Output { get; }

    public long Metric(string name) => Metrics.Snapshot().Single(m => m.Name == name).Number;

    public ValueTask DisposeAsync() => Output.DisposeAsync();
}
