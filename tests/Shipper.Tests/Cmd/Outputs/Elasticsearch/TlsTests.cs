using Shipper.Module.Logging;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

public class TlsTests
{
    private static readonly string Index = "shipper-" + Shipper.Events.BuildInfo.Version;

    [Fact]
    public async Task ShipsOverTlsWhenTheCaIsConfigured()
    {
        using var certificates = new TestCertificates();
        await using var es = await LoopbackElasticsearch.StartAsync(certificates.Server);
        var caFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(caFile, certificates.AuthorityPem);
        try
        {
            await using var harness = new OutputHarness($"hosts: [\"https://localhost:{es.Port}\"]\nssl.certificate_authorities: [\"{caFile}\"]\n");
            var events = TestDocuments.Processes(200);

            var totals = await Publishing.UntilSettledAsync(harness.Output, events);

            Assert.Equal(200, totals.Acked);
            ElasticsearchOutputTests.AssertIndexedExactly(es, Index, events);
        }
        finally
        {
            File.Delete(caFile);
        }
    }

    [Fact]
    public async Task RefusesTheServerWithoutTheCa()
    {
        using var certificates = new TestCertificates();
        await using var es = await LoopbackElasticsearch.StartAsync(certificates.Server);
        await using var harness = new OutputHarness($"hosts: [\"https://localhost:{es.Port}\"]\nbackoff.init: 1ms\nbackoff.max: 5ms\n");

        var result = await harness.Output.PublishAsync(TestDocuments.Processes(20), CancellationToken.None);

        Assert.Equal(20, result.Retry.Count);
        Assert.Empty(es.Requests);
        var error = Assert.Single(harness.Log.Messages(LogLevel.Error));
        Assert.Contains($"cannot connect to Elasticsearch at https://localhost:{es.Port}: TLS handshake failed: the certificate of 'CN=localhost' is not trusted by the system CAs", error, StringComparison.Ordinal);
        Assert.Contains("ssl.certificate_authorities", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("full", false)]
    [InlineData("strict", false)]
    [InlineData("certificate", true)]
    public async Task HostNameMismatchFollowsVerificationMode(string mode, bool accepted)
    {
        using var certificates = new TestCertificates("elastic.example.com", withLoopbackIp: false);
        await using var es = await LoopbackElasticsearch.StartAsync(certificates.Server);
        var pem = certificates.AuthorityPem.Replace("\n", "\\n", StringComparison.Ordinal);
        await using var harness = new OutputHarness($"hosts: [\"https://localhost:{es.Port}\"]\nssl.certificate_authorities: [\"{pem}\"]\nssl.verification_mode: {mode}\nbackoff.init: 1ms\nbackoff.max: 5ms\n");

        var result = await harness.Output.PublishAsync(TestDocuments.Processes(10), CancellationToken.None);

        Assert.True((accepted ? 10 : 0) == result.Acked, harness.Log.All);
        if (!accepted)
        {
            Assert.Contains(harness.Log.Messages(LogLevel.Error), m => m.Contains("the certificate of 'CN=elastic.example.com' does not name the host 'localhost'", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task VerificationModeNoneShipsWithoutTheCa()
    {
        using var certificates = new TestCertificates();
        await using var es = await LoopbackElasticsearch.StartAsync(certificates.Server);
        await using var harness = new OutputHarness($"hosts: [\"https://127.0.0.1:{es.Port}\"]\nssl.verification_mode: none\n");

        var totals = await Publishing.UntilSettledAsync(harness.Output, TestDocuments.Processes(10));

        Assert.Equal(10, totals.Acked);
    }
}
