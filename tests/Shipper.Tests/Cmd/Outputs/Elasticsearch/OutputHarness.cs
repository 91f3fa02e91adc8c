using Shipper.IndexManagement;
using Shipper.Module.Monitoring;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>An output built from YAML settings, with its metrics and log at hand.</summary>
public sealed class OutputHarness : IAsyncDisposable
{
    public OutputHarness(string outputYaml, string templateYaml = "", TimeProvider? time = null)
    {
        Settings = ElasticsearchSettings.Parse(TestConfig.Section(outputYaml), Log.Logger());
        Template = TemplateSettings.Parse(TestConfig.Section(templateYaml, "setup.template"), Settings);
        Output = new ElasticsearchOutput(Settings, Template, TestDocuments.Writer, Metrics, Log.Logger(), time ?? TimeProvider.System);
    }

    public TestLogSink Log { get; } = new();

    public MetricsRegistry Metrics { get; } = new();

    public ElasticsearchSettings Settings { get; }

    public TemplateSettings Template { get; }

    public ElasticsearchOutput Output { get; }

    public long Metric(string name) => Metrics.Snapshot().Single(m => m.Name == name).Number;

    public ValueTask DisposeAsync() => Output.DisposeAsync();
}
