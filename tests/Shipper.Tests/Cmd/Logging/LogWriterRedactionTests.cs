using System.Text;
using System.Text.Json;
using Shipper.Config;
using Shipper.Logging;
using Shipper.Module.Logging;

namespace Shipper.Tests.Cmd.Logging;

/// <summary>
/// The log writer redacts at the sink: whatever a component writes, a configured secret (in any of the forms
/// the Elasticsearch output sends it) and a secret setting written as key=value never reach the log.
/// </summary>
public class LogWriterRedactionTests
{
    private const string Config = """
        output.elasticsearch:
          hosts: ["https://shipper:UrlPassw0rd@es.example.com:9200"]
          username: shipper
          password: hunter2hunter2
          api_key: "myid:MyApiKeyValue"
          proxy_url: "http://proxyuser:ProxyPassw0rd@proxy:3128"
          ssl.key_passphrase: KeyPassphrase99
          headers:
            Authorization: Bearer TokenValue123
        """;

    private static readonly string[] Secrets =
    {
        "hunter2hunter2", "MyApiKeyValue", "UrlPassw0rd", "ProxyPassw0rd", "KeyPassphrase99", "TokenValue123",
        Convert.ToBase64String(Encoding.UTF8.GetBytes("myid:MyApiKeyValue")),
        Convert.ToBase64String(Encoding.UTF8.GetBytes("shipper:hunter2hunter2")),
    };

    private static (LogWriter Writer, StringWriter Text) Writer(bool json = false)
    {
        var root = new YamlConfigLoader().LoadText(Config, "shipper.yml");
        var text = new StringWriter();
        return (new LogWriter(LogLevel.Info, Array.Empty<string>(), json, text, null, secrets: ConfiguredSecrets.From(root)), text);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ConfiguredSecretsAreReplacedWhereverTheyAppearInALine(bool json)
    {
        var (writer, text) = Writer(json);
        var log = new Logger(writer, "test");
        foreach (var secret in Secrets)
        {
            log.Info($"request failed: header value {secret}, again:{secret}.");
        }

        log.Warn("connecting to https://shipper:UrlPassw0rd@es.example.com:9200/_bulk");
        var output = text.ToString();
        foreach (var secret in Secrets)
        {
            Assert.DoesNotContain(secret, output);
        }

        Assert.Contains("[redacted]", output);
        Assert.Contains("request failed: header value", output);
        if (json)
        {
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var _ = JsonDocument.Parse(line); // still valid JSON
            }
        }
    }

    [Theory]
    [InlineData("supervising worker `shipper run -E output.elasticsearch.password=abc -d *`", "output.elasticsearch.password=[redacted] -d *")]
    [InlineData("args [\"-E\", \"output.elasticsearch.api_key=id:k\"]", "output.elasticsearch.api_key=[redacted]\"]")]
    [InlineData("flags --password=pw --name=host1", "--password=[redacted] --name=host1")]
    [InlineData("-Eoutput.elasticsearch.ssl.key_passphrase='a b'", "-Eoutput.elasticsearch.ssl.key_passphrase=[redacted]")]
    [InlineData("proxy http://u:pw@proxy:3128 failed", "proxy http://u:xxxxx@proxy:3128 failed")]
    [InlineData("-E output.elasticsearch.hosts=[\"https://u:pw@es:9200\"]", "https://u:xxxxx@es:9200")]
    public void SecretSettingsWrittenAsKeyValueAreRedactedWithoutKnowingTheValue(string message, string expected)
    {
        var text = new StringWriter();
        var writer = new LogWriter(LogLevel.Info, Array.Empty<string>(), false, text, null);
        new Logger(writer, "test").Info(message);
        Assert.Contains(expected, text.ToString());
        Assert.DoesNotContain("pw@", text.ToString());
        Assert.DoesNotContain("=abc", text.ToString());
        Assert.DoesNotContain("id:k", text.ToString());
    }

    [Fact]
    public void OrdinaryKeyValuesAndShortWordsAreLeftAlone()
    {
        var (writer, text) = Writer();
        new Logger(writer, "test").Info("tags=a,b name=host1 user shipper at https://es.example.com:9200");
        Assert.Contains("tags=a,b name=host1 user shipper at https://es.example.com:9200", text.ToString());
    }

    [Fact]
    public void TheShippersOwnArgumentsAreRedactedAsExportConfigShowsThem()
    {
        var root = new YamlConfigLoader().LoadText(Config, "shipper.yml");
        var secrets = ConfiguredSecrets.From(root);
        var args = new[] { "shipper", "run", "-E", "output.elasticsearch.headers.Authorization=Bearer x y", "-E", "output.elasticsearch.password=hunter2hunter2", "-c", "shipper.yml" };
        Assert.Equal(
            new[] { "shipper", "run", "-E", "output.elasticsearch.headers.Authorization=[redacted]", "-E", "output.elasticsearch.password=[redacted]", "-c", "shipper.yml" },
            secrets.RedactArguments(args));
        var plain = new[] { "sleep", "10" };
        Assert.Same(plain, secrets.RedactArguments(plain));
    }
}
