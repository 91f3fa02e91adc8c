using Shipper.Events;
using Shipper.IndexManagement;
using Shipper.Outputs.Elasticsearch;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.IndexManagement;

public class IndexSetupTests
{
    [Fact]
    public async Task LoadsTheTemplateAndCreatesTheDataStream()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        var output = ElasticsearchSettings.Parse(TestConfig.Section($"hosts: [\"{es.Url}\"]\n"));
        var log = new TestLogSink();
        var console = new StringWriter();

        var code = await IndexSetup.RunAsync(output, TemplateSettings.Default, console, log.Logger());

        Assert.Equal(0, code);
        var name = "shipper-" + BuildInfo.Version;
        Assert.True(es.Templates.ContainsKey(name));
        Assert.True(es.DataStreams.ContainsKey(name));
        Assert.Equal($"Index template '{name}' loaded (pattern '{name}*').\nData stream '{name}' created.\nIndex setup finished.\n", console.ToString());

        var again = new StringWriter();
        Assert.Equal(0, await IndexSetup.RunAsync(output, TemplateSettings.Default, again, log.Logger()));
        Assert.Contains("already exists and was kept", again.ToString(), StringComparison.Ordinal);
        Assert.Contains($"Data stream '{name}' already exists.", again.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailsWithTheReasonWhenNoHostWorks()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.Users["elastic"] = "right";
        var output = ElasticsearchSettings.Parse(TestConfig.Section($"hosts: [\"{es.Url}\"]\nusername: elastic\npassword: wrong\n"));
        var console = new StringWriter();

        var code = await IndexSetup.RunAsync(output, TemplateSettings.Default, console, new TestLogSink().Logger());

        Assert.Equal(1, code);
        Assert.Contains("Index setup failed:", console.ToString(), StringComparison.Ordinal);
        Assert.Contains("refused the credentials (HTTP 401", console.ToString(), StringComparison.Ordinal);
        Assert.Empty(es.Templates);
    }
}
