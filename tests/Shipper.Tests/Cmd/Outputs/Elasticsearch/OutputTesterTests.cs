using Shipper.Outputs.Elasticsearch;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

public class OutputTesterTests
{
    [Fact]
    public async Task ReportsEveryStepForAWorkingHost()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        var settings = ElasticsearchSettings.Parse(TestConfig.Section($"hosts: [\"{es.Url}\"]\n"));
        var console = new StringWriter();

        var code = await OutputTester.RunAsync(settings, console);

        Assert.Equal(0, code);
        Assert.Equal(
            $"""
            elasticsearch: http://127.0.0.1:{es.Port}...
              parse url... OK
              connection...
                parse host... OK
                dns lookup... OK
                addresses: 127.0.0.1
                dial up... OK
              TLS... WARN secure connection disabled
              talk to server... OK
              version: 8.15.0

            """.ReplaceLineEndings("\n"),
            console.ToString());
    }

    [Fact]
    public async Task ReportsTlsWithTheConfiguredCa()
    {
        using var certificates = new TestCertificates();
        await using var es = await LoopbackElasticsearch.StartAsync(certificates.Server);
        var pem = certificates.AuthorityPem.Replace("\n", "\\n", StringComparison.Ordinal);
        var settings = ElasticsearchSettings.Parse(TestConfig.Section($"hosts: [\"https://localhost:{es.Port}\"]\nssl.certificate_authorities: [\"{pem}\"]\n"));
        var console = new StringWriter();

        var code = await OutputTester.RunAsync(settings, console);

        Assert.Equal(0, code);
        var text = console.ToString();
        Assert.Contains("  TLS...\n    security: server's certificate chain verification is enabled (full)\n    handshake... OK\n    TLS version: TLSv1.", text, StringComparison.Ordinal);
        Assert.Contains("  talk to server... OK\n  version: 8.15.0\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportsAnUntrustedCertificate()
    {
        using var certificates = new TestCertificates();
        await using var es = await LoopbackElasticsearch.StartAsync(certificates.Server);
        var settings = ElasticsearchSettings.Parse(TestConfig.Section($"hosts: [\"https://localhost:{es.Port}\"]\n"));
        var console = new StringWriter();

        var code = await OutputTester.RunAsync(settings, console);

        Assert.Equal(1, code);
        Assert.Contains("    handshake... ERROR the certificate of 'CN=localhost' is not trusted by the system CAs", console.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("talk to server", console.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WarnsWhenVerificationIsOff()
    {
        using var certificates = new TestCertificates();
        await using var es = await LoopbackElasticsearch.StartAsync(certificates.Server);
        var settings = ElasticsearchSettings.Parse(TestConfig.Section($"hosts: [\"https://localhost:{es.Port}\"]\nssl.verification_mode: none\n"));
        var console = new StringWriter();

        Assert.Equal(0, await OutputTester.RunAsync(settings, console));
        Assert.Contains("    security... WARN server's certificate chain verification is disabled\n", console.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportsEachHostAndFailsWhenOneIsDown()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        var down = FaultScenarioTests.UnusedPort();
        var settings = ElasticsearchSettings.Parse(TestConfig.Section($"hosts: [\"127.0.0.1:{down}\", \"{es.Url}\", \"no-such-host.invalid\"]\n"));
        var console = new StringWriter();

        var code = await OutputTester.RunAsync(settings, console);

        Assert.Equal(1, code);
        var text = console.ToString();
        Assert.Contains($"    dial up... ERROR dial tcp 127.0.0.1:{down}: Connection refused", text, StringComparison.Ordinal);
        Assert.Contains("  version: 8.15.0", text, StringComparison.Ordinal);
        Assert.Contains("    dns lookup... ERROR lookup no-such-host.invalid", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportsAServerThatIsNotElasticsearch()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.SendProductHeader = false;
        var settings = ElasticsearchSettings.Parse(TestConfig.Section($"hosts: [\"{es.Url}\"]\n"));
        var console = new StringWriter();

        Assert.Equal(1, await OutputTester.RunAsync(settings, console));
        Assert.Contains("  talk to server... ERROR refusing to ship to", console.ToString(), StringComparison.Ordinal);
    }
}
