using System.Net;
using System.Text;
using System.Text.Json;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>The loopback cluster's _ilm/policy API answers as Elasticsearch 8 does, so the ILM tests can trust it.</summary>
public class LoopbackIlmApiTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(LoopbackElasticsearch es, HttpMethod method, string path, string? body = null)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(method, new Uri(es.Url, path));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var reply = await client.SendAsync(request);
        var text = await reply.Content.ReadAsStringAsync();
        return (reply.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string Error(JsonElement body) => body.GetProperty("error").GetProperty("type").GetString() + ": " + body.GetProperty("error").GetProperty("reason").GetString();

    [Fact]
    public async Task AMissingPolicyIs404WithEsError()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();

        var (status, body) = await SendAsync(es, HttpMethod.Get, "/_ilm/policy/nope");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("resource_not_found_exception: Lifecycle policy not found: [nope]", Error(body));
        Assert.Equal(404, body.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task PutThenGetGivesVersionDateAndPolicy()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        const string Policy = """{"policy":{"phases":{"hot":{"actions":{"rollover":{"max_age":"1d"}}}}}}""";

        var (putStatus, putBody) = await SendAsync(es, HttpMethod.Put, "/_ilm/policy/p1", Policy);
        Assert.Equal(HttpStatusCode.OK, putStatus);
        Assert.True(putBody.GetProperty("acknowledged").GetBoolean());
        await SendAsync(es, HttpMethod.Put, "/_ilm/policy/p1", Policy);

        var (status, body) = await SendAsync(es, HttpMethod.Get, "/_ilm/policy/p1");

        Assert.Equal(HttpStatusCode.OK, status);
        var entry = body.GetProperty("p1");
        Assert.Equal(2, entry.GetProperty("version").GetInt64());
        Assert.True(DateTimeOffset.TryParse(entry.GetProperty("modified_date").GetString(), out _));
        Assert.Equal("0ms", entry.GetProperty("policy").GetProperty("phases").GetProperty("hot").GetProperty("min_age").GetString());
    }

    [Theory]
    [InlineData("""{"policy":{"phases":{"lukewarm":{"actions":{}}}}}""", "illegal_argument_exception: Timeseries lifecycle does not support phase [lukewarm]")]
    [InlineData("""{"policy":{"phases":{"hot":{"actions":{"delete":{}}}}}}""", "illegal_argument_exception: invalid action [delete] defined in phase [hot]")]
    [InlineData("""{"policy":{"phases":{"hot":{"actions":{"explode":{}}}}}}""", "x_content_parse_exception: [1:40] [phase] failed to parse field [actions]: unknown lifecycle action [explode]")]
    [InlineData("""{"policy":{"phases":{"hot":{"actions":{"rollover":{}}}}}}""", "illegal_argument_exception: At least one max_* rollover condition must be set.")]
    [InlineData("""{"phases":{}}""", "x_content_parse_exception: [1:2] [put_lifecycle_request] unknown field [phases]")]
    [InlineData("""{}""", "x_content_parse_exception: [1:2] Required [policy]")]
    [InlineData("""{"policy":{"name":"x","phases":{}}}""", "x_content_parse_exception: [1:12] [lifecycle_policy] unknown field [name]")]
    public async Task BadPoliciesAreRefusedAsEsRefusesThem(string policy, string error)
    {
        await using var es = await LoopbackElasticsearch.StartAsync();

        var (status, body) = await SendAsync(es, HttpMethod.Put, "/_ilm/policy/bad", policy);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(error, Error(body));
        Assert.Empty(es.IlmPolicies);
    }

    [Fact]
    public async Task ATemplateMayNameAPolicyThatDoesNotExist()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();

        var (status, _) = await SendAsync(es, HttpMethod.Put, "/_index_template/t", """{"index_patterns":["t-*"],"data_stream":{},"template":{"settings":{"index":{"lifecycle":{"name":"later"}}}}}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("later", es.TemplateLifecycleName("t"));
        await SendAsync(es, HttpMethod.Put, "/_ilm/policy/later", """{"policy":{"phases":{"delete":{"actions":{"delete":{}}}}}}""");
        var (_, body) = await SendAsync(es, HttpMethod.Get, "/_ilm/policy/later");
        Assert.Equal("t", body.GetProperty("later").GetProperty("in_use_by").GetProperty("composable_templates")[0].GetString());
    }

    [Fact]
    public async Task IlmFaultsAnswerWithServerErrors()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.IlmFaults = n => n == 1 ? 503 : null;

        var (first, body) = await SendAsync(es, HttpMethod.Get, "/_ilm/policy/x");
        var (second, _) = await SendAsync(es, HttpMethod.Get, "/_ilm/policy/x");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, first);
        Assert.Equal("master_not_discovered_exception: no master node is known to the cluster", Error(body));
        Assert.Equal(HttpStatusCode.NotFound, second);
    }
}
