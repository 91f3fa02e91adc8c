using Shipper.IndexManagement;
using Shipper.Module.Config;
using Shipper.Outputs.Elasticsearch;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;

namespace Shipper.Tests.Cmd.IndexManagement;

public class TemplateSettingsTests
{
    [Fact]
    public void Defaults()
    {
        var section = TestConfig.Section("", "setup.template");
        var settings = TemplateSettings.Parse(section);
        var builder = new IndexTemplateBuilder(settings, "9.9.9");

        Assert.True(settings.Enabled);
        Assert.False(settings.Overwrite);
        Assert.Equal(150, settings.Priority);
        Assert.Equal("shipper-9.9.9", builder.Name);
        Assert.Equal("shipper-9.9.9*", builder.Pattern);
    }

    [Fact]
    public void ACustomIndexNeedsItsOwnTemplateNameAndPattern()
    {
        var output = ElasticsearchSettings.Parse(TestConfig.Section("hosts: [es]\nindex: audit\n"));

        var e = Assert.Throws<ConfigException>(() => TemplateSettings.Parse(TestConfig.Section("name: audit\n", "setup.template"), output));
        Assert.Equal("setup.template.pattern", e.Path);
        Assert.Contains("have to be set if output.elasticsearch.index is modified", e.Message, StringComparison.Ordinal);

        TemplateSettings.Parse(TestConfig.Section("name: audit\npattern: audit*\n", "setup.template"), output);
        TemplateSettings.Parse(TestConfig.Section("enabled: false\n", "setup.template"), output);
    }

    [Fact]
    public void UnknownKeysAreReported()
    {
        var section = TestConfig.Section("overwrite: true\nsettings:\n  index.number_of_shards: 1\n  indx: 2\n", "setup.template");
        TemplateSettings.Parse(section);
        var e = Assert.Throws<ConfigException>(() => section.Tracker.EnsureAllConsumed(section.Map));
        Assert.Contains("setup.template.settings.indx", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATimestampInTheTemplateNameIsRefused()
    {
        var settings = TemplateSettings.Parse(TestConfig.Section("name: \"x-%{+yyyy}\"\npattern: \"x-*\"\n", "setup.template"));
        Assert.Throws<FormatException>(() => new IndexTemplateBuilder(settings));
    }
}
