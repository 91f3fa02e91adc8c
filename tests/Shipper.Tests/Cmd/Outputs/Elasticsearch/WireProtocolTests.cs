using System.Runtime.InteropServices;
using System.Text;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>What the output puts on the wire besides documents (auth, headers, index routing), and that the loopback server is faithful.</summary>
public class WireProtocolTests
{
    [Fact]
    public async Task ApiKeyIsSentBase64Encoded()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.ApiKeys["VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"] = 0;
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\napi_key: \"VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw\"\n");

        var totals = await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(5));

        Assert.Equal(5, totals.Acked);
        Assert.Equal(FirstConnection, Exchanges(es));
        var expected = "ApiKey " + Convert.ToBase64String(Encoding.UTF8.GetBytes("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"));
        Assert.All(es.Requests, r => Assert.Equal(expected, r.Header("Authorization")));
    }

    [Fact]
    public async Task BasicAuthAndCustomHeadersOnEveryRequest()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.Users["writer"] = "p@ss";
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\nusername: writer\npassword: \"p@ss\"\nheaders:\n  X-Tenant: blue\n");

        var totals = await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(5));

        Assert.Equal(5, totals.Acked);
        Assert.Equal(FirstConnection, Exchanges(es));
        var userAgent = $"Shipper/{Shipper.Events.BuildInfo.Version} (linux; {RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}; {Shipper.Events.BuildInfo.Commit})";
        Assert.All(es.Requests, r =>
        {
            Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("writer:p@ss")), r.Header("Authorization"));
            Assert.Equal("blue", r.Header("X-Tenant"));
            Assert.Equal(userAgent, r.Header("User-Agent"));
            Assert.Equal("application/json", r.Header("Accept"));
        });
    }

    [Fact]
    public async Task DateIndicesAndDataStreams()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness(
            $"hosts: [\"{es.Url}\"]\nindex: \"audit-%{{+yyyy.MM.dd}}\"\n",
            "name: audit\npattern: \"audit-*\"\n");
        var day1 = Enumerable.Range(0, 10).Select(i => TestDocuments.Process(i, new DateTime(2024, 5, 17, 12, 0, 0, DateTimeKind.Utc))).ToList();
        var day2 = Enumerable.Range(10, 5).Select(i => TestDocuments.Process(i, new DateTime(2024, 5, 18, 0, 0, 1, DateTimeKind.Utc))).ToList();

        await Publishing.UntilSettledAsync(harness.Output, day1.Concat(day2).ToList());

        Assert.Equal(10, es.Documents("audit-2024.05.17").Count);
        Assert.Equal(5, es.Documents("audit-2024.05.18").Count);
        Assert.True(es.Templates.ContainsKey("audit"));
        // The template declares data streams, so ES made one per index the documents named.
        Assert.Equal(["audit-2024.05.17", "audit-2024.05.18"], es.DataStreams.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ExistingTemplateIsKeptUnlessOverwriteIsSet()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using (var first = new OutputHarness($"hosts: [\"{es.Url}\"]\n"))
        {
            await Publishing.UntilSettledAsync(first.Output, TestDocuments.Processes(1));
        }

        await using (var second = new OutputHarness($"hosts: [\"{es.Url}\"]\n"))
        {
            await Publishing.UntilSettledAsync(second.Output, TestDocuments.Processes(1, first: 1));
            Assert.Contains(second.Log.Messages(Shipper.Module.Logging.LogLevel.Info), m => m.Contains("already exists", StringComparison.Ordinal));
        }

        await using (var third = new OutputHarness($"hosts: [\"{es.Url}\"]\n", "overwrite: true\n"))
        {
            await Publishing.UntilSettledAsync(third.Output, TestDocuments.Processes(1, first: 2));
        }

        Assert.Equal(2, es.Requests.Count(r => r.Method == "PUT" && r.Path.StartsWith("/_index_template/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ALostTemplateIsLoadedAgainOnReconnect()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\nbackoff.init: 1ms\nbackoff.max: 5ms\n");
        await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(5));
        using var client = new HttpClient();
        var name = "shipper-" + Shipper.Events.BuildInfo.Version;
        Assert.True((await client.DeleteAsync(new Uri(es.Url, "/_index_template/" + name))).IsSuccessStatusCode);
        Assert.Empty(es.Templates);

        es.BulkFaults = n => n == 2 ? new BulkFault.DropConnection() : null;
        await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(5, first: 5));

        Assert.True(es.Templates.ContainsKey(name));
        Assert.Equal(10, es.StoredCount);
    }

    [Fact]
    public async Task TemplateLoadingCanBeDisabled()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        await using var harness = new OutputHarness($"hosts: [\"{es.Url}\"]\n", "enabled: false\n");

        var totals = await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(3));

        Assert.Equal(3, totals.Acked);
        Assert.Equal(3, es.StoredCount);
        Assert.Empty(es.Templates);
        Assert.Equal(["GET / 200", "POST /_bulk 200"], Exchanges(es));
    }

    [Fact]
    public async Task LoopbackAnswersAMissingFinalNewlineAsElasticsearchDoes()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        using var client = new HttpClient();
        var content = new StringContent("{\"create\":{\"_index\":\"x\"}}\n{\"a\":1}", Encoding.UTF8, "application/x-ndjson");

        var reply = await client.PostAsync(new Uri(es.Url, "/_bulk"), content);
        var body = await reply.Content.ReadAsStringAsync();

        Assert.Equal(400, (int)reply.StatusCode);
        Assert.Equal("""{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"The bulk request must be terminated by a newline [\\n]"}],"type":"illegal_argument_exception","reason":"The bulk request must be terminated by a newline [\\n]"},"status":400}""", body);
        Assert.Equal("Elasticsearch", reply.Headers.GetValues("X-elastic-product").Single());
    }

    [Fact]
    public async Task LoopbackHonoursFilterPath()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        using var client = new HttpClient();
        var ndjson = "{\"create\":{\"_index\":\"x\"}}\n{\"a\":1}\n{\"create\":{\"_index\":\"X\"}}\n{\"a\":2}\n";

        var filtered = await client.PostAsync(new Uri(es.Url, "/_bulk?filter_path=errors,items.*.error,items.*.status"), new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson"));
        var full = await client.PostAsync(new Uri(es.Url, "/_bulk"), new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson"));

        Assert.Equal("""{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":400,"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [X], must be lowercase","index":"X"}}}]}""", await filtered.Content.ReadAsStringAsync());
        var unfiltered = await full.Content.ReadAsStringAsync();
        // Ids 3 and 4: the loopback numbers every item it is sent, the filtered request's two included.
        Assert.Equal("""{"took":3,"errors":true,"items":[{"create":{"_index":"x","_id":"AwAAAAAAAAAAAAAAAAAA","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":1,"_primary_term":1,"status":201}},{"create":{"_index":"X","_id":"BAAAAAAAAAAAAAAAAAAA","status":400,"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [X], must be lowercase","index":"X"}}}]}""", unfiltered);
    }

    [Fact]
    public async Task LoopbackKeepsConnectionsAliveAcrossRequestKinds()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        var connections = 0;
        using var client = new HttpClient(new SocketsHttpHandler
        {
            AutomaticDecompression = System.Net.DecompressionMethods.GZip,
            MaxConnectionsPerServer = 1,
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        });
        for (var i = 0; i < 30; i++)
        {
            foreach (var (method, path, body) in new[]
            {
                ("GET", "/", (string?)null),
                ("HEAD", "/_index_template/t" + i, null),
                ("PUT", "/_index_template/t" + i, "{\"index_patterns\":[\"t" + i + "-*\"],\"priority\":" + i + "}"),
                ("POST", "/_bulk", "{\"create\":{\"_index\":\"x\"}}\n{\"a\":1}\n"),
            })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(es.Url, path));
                if (body is not null)
                {
                    request.Content = new StringContent(body, Encoding.UTF8, path == "/_bulk" ? "application/x-ndjson" : "application/json");
                }

                using var response = await client.SendAsync(request);
                var expected = method == "HEAD" ? 404 : 200; // template t{i} is put only after the HEAD asks for it
                Assert.True(expected == (int)response.StatusCode, $"{method} {path}: {(int)response.StatusCode}");
            }
        }

        Assert.Empty(es.Errors);
        Assert.Equal(30, es.StoredCount);
        Assert.Equal(30, es.Templates.Count);
        Assert.Equal(1, connections); // all 120 requests, HEAD's empty body included, on the one connection
    }

    /// <summary>What the output asks on its first connection with template loading on: who answers, whether its template exists, put it, then the documents.</summary>
    private static readonly string[] FirstConnection =
    [
        "GET / 200",
        $"HEAD /_index_template/shipper-{Shipper.Events.BuildInfo.Version} 404",
        $"PUT /_index_template/shipper-{Shipper.Events.BuildInfo.Version} 200",
        "POST /_bulk 200",
    ];

    private static string[] Exchanges(LoopbackElasticsearch es) => es.Requests.Select(r => $"{r.Method} {r.Path} {r.Status}").ToArray();
}
