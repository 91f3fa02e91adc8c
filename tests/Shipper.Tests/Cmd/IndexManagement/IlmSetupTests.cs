using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Shipper.Events;
using Shipper.IndexManagement;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Outputs.Elasticsearch;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.IndexManagement;

/// <summary>setup.ilm at connect: the Elasticsearch output against the loopback cluster's real _ilm/policy API.</summary>
public class IlmSetupTests
{
    private const string FastBackoff = "backoff.init: 1ms\nbackoff.max: 20ms\n";
    private static readonly string TemplateName = "shipper-" + BuildInfo.Version;

    private static string[] Exchanges(LoopbackElasticsearch es) => es.Requests.Select(r => $"{r.Method} {r.Path} {r.Status}").ToArray();

    private static string[] IlmExchanges(LoopbackElasticsearch es) => Exchanges(es).Where(e => e.Contains("/_ilm/", StringComparison.Ordinal)).ToArray();

    private static async Task PutPolicyAsync(LoopbackElasticsearch es, string name, string body)
    {
        using var client = new HttpClient();
        using var reply = await client.PutAsync(new Uri(es.Url, "/_ilm/policy/" + name), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync());
    }

    private static string PolicyFile(Support.TempConfig dir, string json)
    {
        var file = Path.Combine(dir.Directory, "policy.json");
        File.WriteAllText(file, json);
        return file;
    }

    private static string Phases(LoopbackElasticsearch es, string name) => es.IlmPolicies[name].Policy["phases"]!.ToJsonString();

    [Fact]
    public async Task ThePolicyIsInstalledBeforeTheTemplateThatNamesIt()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n", ilmYaml: "");

        var totals = await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(5));

        Assert.Equal(5, totals.Acked);
        // The policy is new, so the template is put without asking whether it exists (as libbeat).
        Assert.Equal(
            [
                "GET / 200",
                "GET /_ilm/policy/shipper 404",
                "PUT /_ilm/policy/shipper 200",
                $"PUT /_index_template/{TemplateName} 200",
                "POST /_bulk 200",
            ],
            Exchanges(es));
        Assert.Equal("""{"hot":{"actions":{"rollover":{"max_primary_shard_size":"50gb","max_age":"30d"}},"min_age":"0ms"}}""", Phases(es, "shipper"));
        Assert.Equal("shipper", es.TemplateLifecycleName(TemplateName));
        Assert.Contains(harness.Log.Messages(LogLevel.Info), m => m == $"loaded ILM policy 'shipper' into {es.Url.ToString().TrimEnd('/')}");
    }

    [Fact]
    public async Task AnExistingPolicyIsKeptAndNotPutAgain()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using (var first = new OutputHarness($"hosts: [\"{es.Url}\"]\n", ilmYaml: ""))
        {
            await Publishing.UntilSettledAsync(first.Output, TestDocuments.Processes(1));
        }

        await using var second = new OutputHarness($"hosts: [\"{es.Url}\"]\n", ilmYaml: "");
        await Publishing.UntilSettledAsync(second.Output, TestDocuments.Processes(1, first: 1));

        Assert.Equal(["GET /_ilm/policy/shipper 404", "PUT /_ilm/policy/shipper 200", "GET /_ilm/policy/shipper 200"], IlmExchanges(es));
        Assert.Equal(1, es.IlmPolicies["shipper"].Version);
        Assert.Contains(second.Log.Messages(LogLevel.Info), m => m.Contains("ILM policy 'shipper' already exists", StringComparison.Ordinal));
        // An existing policy does not force the template: it exists too, so it is only checked.
        Assert.Equal(1, es.Requests.Count(r => r.Method == "PUT" && r.Path.StartsWith("/_index_template/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ALostPolicyIsInstalledAgainOnReconnect()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}", ilmYaml: "");
        await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(5));
        using (var client = new HttpClient())
        {
            Assert.True((await client.DeleteAsync(new Uri(es.Url, "/_ilm/policy/shipper"))).IsSuccessStatusCode);
        }

        es.BulkFaults = n => n == 2 ? new BulkFault.DropConnection() : null;
        await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(5, first: 5));

        Assert.Equal(1, es.IlmPolicies["shipper"].Version); // created anew
        Assert.Equal(10, es.StoredCount);
        Assert.Equal(2, es.Requests.Count(r => r.Method == "PUT" && r.Path.StartsWith("/_index_template/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AUsersPolicyIsKeptUnlessOverwriteIsSet()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await PutPolicyAsync(es, "shipper", """{"policy":{"phases":{"delete":{"min_age":"90d","actions":{"delete":{}}}}}}""");

        await using (var kept = new OutputHarness($"hosts: [\"{es.Url}\"]\n", ilmYaml: ""))
        {
            await Publishing.UntilSettledAsync(kept.Output, TestDocuments.Processes(1));
        }

        Assert.Contains("\"delete\"", Phases(es, "shipper"), StringComparison.Ordinal);
        Assert.Equal(1, es.IlmPolicies["shipper"].Version);

        await using (var overwrite = new OutputHarness($"hosts: [\"{es.Url}\"]\n", ilmYaml: "overwrite: true\n"))
        {
            await Publishing.UntilSettledAsync(overwrite.Output, TestDocuments.Processes(1, first: 1));
        }

        // overwrite puts without asking first, as libbeat.
        Assert.Equal(["PUT /_ilm/policy/shipper 200", "GET /_ilm/policy/shipper 200", "PUT /_ilm/policy/shipper 200"], IlmExchanges(es));
        Assert.Equal(2, es.IlmPolicies["shipper"].Version);
        Assert.Contains("\"rollover\"", Phases(es, "shipper"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANewPolicyForcesTheTemplateToBeWrittenAgain()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using (var withoutIlm = new OutputHarness($"hosts: [\"{es.Url}\"]\n"))
        {
            await Publishing.UntilSettledAsync(withoutIlm.Output, TestDocuments.Processes(1));
        }

        Assert.Null(es.TemplateLifecycleName(TemplateName));

        await using var withIlm = new OutputHarness($"hosts: [\"{es.Url}\"]\n", ilmYaml: "");
        await Publishing.UntilSettledAsync(withIlm.Output, TestDocuments.Processes(1, first: 1));

        // setup.template.overwrite is false, yet the template is put again (no HEAD) because the policy is new.
        Assert.Equal(
            [
                "GET / 200",
                "GET /_ilm/policy/shipper 404",
                "PUT /_ilm/policy/shipper 200",
                $"PUT /_index_template/{TemplateName} 200",
                "POST /_bulk 200",
            ],
            Exchanges(es)[4..]);
        Assert.Equal("shipper", es.TemplateLifecycleName(TemplateName));
    }

    [Fact]
    public async Task WithCheckExistsFalseTheShipperNeverTouchesThePolicyButTheTemplateNamesIt()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n", ilmYaml: "check_exists: false\noverwrite: true\n");

        var totals = await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(3));

        Assert.Equal(3, totals.Acked);
        Assert.Empty(IlmExchanges(es));
        Assert.Empty(es.IlmPolicies);
        // As real Elasticsearch, the cluster takes a template naming a policy it does not have.
        Assert.Equal("shipper", es.TemplateLifecycleName(TemplateName));
        Assert.Contains(harness.Log.Messages(LogLevel.Info), m => m.Contains("check_exists is false", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ILMCanBeDisabled()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n", ilmYaml: "enabled: false\n");

        await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(3));

        Assert.Empty(IlmExchanges(es));
        Assert.Null(es.TemplateLifecycleName(TemplateName));
        Assert.True(es.Templates.ContainsKey(TemplateName));
    }

    [Fact]
    public async Task APolicyFileAndAFormattedPolicyNameAreUsed()
    {
        using var dir = new Support.TempConfig("{}");
        var file = PolicyFile(dir, """
            {
              "policy": {
                "phases": {
                  "hot": { "actions": { "rollover": { "max_age": "1d" } } },
                  "delete": { "min_age": "30d", "actions": { "delete": {} } }
                }
              }
            }
            """);
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n", ilmYaml: $"policy_name: \"audit-%{{[agent.version]}}\"\npolicy_file: {file}\n");

        await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(1));

        var name = "audit-" + BuildInfo.Version;
        Assert.Equal(
            """{"hot":{"actions":{"rollover":{"max_age":"1d"}},"min_age":"0ms"},"delete":{"min_age":"30d","actions":{"delete":{}}}}""",
            Phases(es, name));
        Assert.Equal(name, es.TemplateLifecycleName(TemplateName));
    }

    [Fact]
    public async Task TheUsersOwnLifecycleNameInTheTemplateIsKept()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n", "settings.index.lifecycle.name: my-policy\n", ilmYaml: "");

        await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(1));

        Assert.Equal("my-policy", es.TemplateLifecycleName(TemplateName));
        Assert.True(es.IlmPolicies.ContainsKey("shipper"), "the policy is still installed, as libbeat does");
    }

    [Fact]
    public async Task ARolloverPolicyWithoutADataStreamIsAConfigError()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();

        var e = Assert.Throws<ConfigException>(() => new OutputHarness($"hosts: [\"{es.Url}\"]\n", "data_stream: false\n", ilmYaml: ""));

        Assert.Equal("setup.ilm.enabled", e.Path);
        Assert.Contains("rolls over, which needs a data stream", e.Message, StringComparison.Ordinal);

        using var dir = new Support.TempConfig("{}");
        var file = PolicyFile(dir, """{"policy":{"phases":{"delete":{"min_age":"30d","actions":{"delete":{}}}}}}""");
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n", "data_stream: false\n", ilmYaml: $"policy_file: {file}\n");
        await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(1));
        Assert.Equal("shipper", es.TemplateLifecycleName(TemplateName));
    }

    [Fact]
    public async Task APolicyTheClusterRefusesIsLoggedWithItsReasonAndNothingIsSent()
    {
        using var dir = new Support.TempConfig("{}");
        var file = PolicyFile(dir, """{"policy":{"phases":{"lukewarm":{"actions":{}}}}}""");
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n{FastBackoff}", ilmYaml: $"policy_file: {file}\n");

        var result = await harness.Output.PublishAsync(TestDocuments.Processes(4), CancellationToken.None);

        Assert.Equal(4, result.Retry.Count);
        Assert.Equal(0, result.Acked);
        Assert.Equal(0, es.BulkRequestCount);
        Assert.Empty(es.Templates);
        Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains(
            "refused ILM policy 'shipper': HTTP 400 illegal_argument_exception: Timeseries lifecycle does not support phase [lukewarm]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServerErrorsOnTheIlmApiAreRetriedWithBackoffAndNothingIsAcknowledgedBefore()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.IlmFaults = n => n switch { 1 => 503, 3 => 500, _ => null }; // the first GET, then the PUT after the next GET
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2024-05-17T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\nbackoff.init: 1s\nbackoff.max: 2s\n", time: clock, ilmYaml: "");
        var events = TestDocuments.Processes(10);
        int IlmRequests() => IlmExchanges(es).Length;

        for (var round = 1; round <= 2; round++)
        {
            var before = IlmRequests();
            var publish = harness.Output.PublishAsync(events, CancellationToken.None);
            await FaultScenarioTests.WaitUntilAsync(() => harness.Log.Messages(LogLevel.Error).Count() == round);
            await Task.Delay(200);
            Assert.False(publish.IsCompleted, "the output waits out the backoff");
            Assert.Equal(before + round, IlmRequests()); // no retry before the clock moves
            clock.Advance(TimeSpan.FromSeconds(2));
            var result = await publish.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(0, result.Acked);
            Assert.Equal(10, result.Retry.Count);
        }

        Assert.Equal(0, es.BulkRequestCount);
        Assert.Empty(es.Templates);
        var errors = harness.Log.Messages(LogLevel.Error).ToArray();
        Assert.Contains("cannot check for ILM policy 'shipper'", errors[0], StringComparison.Ordinal);
        Assert.Contains("HTTP 503 master_not_discovered_exception: no master node is known to the cluster", errors[0], StringComparison.Ordinal);
        Assert.Contains("refused ILM policy 'shipper': HTTP 500", errors[1], StringComparison.Ordinal);
        Assert.All(errors, e => Assert.Contains("cannot set up index management (ILM policy, index template) at", e, StringComparison.Ordinal));

        var last = await harness.Output.PublishAsync(events, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(10, last.Acked);
        Assert.Equal(1, es.IlmPolicies["shipper"].Version);
        Assert.Equal("shipper", es.TemplateLifecycleName(TemplateName));
    }

    [Fact]
    public async Task SetupIndexManagementReportsThePolicy()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        var output = ElasticsearchSettings.Parse(TestConfig.Section($"hosts: [\"{es.Url}\"]\n"));
        var log = new TestLogSink().Logger();

        var first = new StringWriter();
        Assert.Equal(0, await IndexSetup.RunAsync(output, TemplateSettings.Default, first, log, IlmSettings.Default));
        var again = new StringWriter();
        Assert.Equal(0, await IndexSetup.RunAsync(output, TemplateSettings.Default, again, log, IlmSettings.Default));

        Assert.StartsWith($"ILM policy 'shipper' loaded.\nIndex template '{TemplateName}' loaded", first.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("ILM policy 'shipper' already exists and was kept (set setup.ilm.overwrite: true to replace it).\n", again.ToString(), StringComparison.Ordinal);
        Assert.Equal("shipper", es.TemplateLifecycleName(TemplateName));
    }
}
