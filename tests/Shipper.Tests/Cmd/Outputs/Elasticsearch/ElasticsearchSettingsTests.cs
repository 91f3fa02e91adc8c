using Shipper.Module.Config;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

public class ElasticsearchSettingsTests
{
    private static ElasticsearchSettings Parse(string yaml, ConfigReadTracker? check = null)
    {
        var section = TestConfig.Section(yaml);
        var settings = ElasticsearchSettings.Parse(section);
        section.Tracker.EnsureAllConsumed(section.Map);
        return settings;
    }

    [Fact]
    public void DefaultsAreLibbeats()
    {
        var s = Parse("hosts: [\"localhost\"]\n");

        Assert.Equal("http://localhost:9200", s.Hosts[0].Display);
        Assert.Equal(ElasticsearchSettings.DefaultIndex, s.Index.Text);
        Assert.True(s.IndexIsDefault);
        Assert.Null(s.Pipeline);
        Assert.Equal(1600, s.BulkMaxSize);
        Assert.Equal(1, s.Worker);
        Assert.Equal(1, s.CompressionLevel);
        Assert.Equal(TimeSpan.FromSeconds(90), s.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(1), s.BackoffInit);
        Assert.Equal(TimeSpan.FromSeconds(60), s.BackoffMax);
        Assert.Equal(3, s.MaxRetries);
        Assert.True(s.LoadBalance);
        Assert.False(s.Ssl.Enabled);
        Assert.False(s.NonIndexable.IsDeadLetter);
        Assert.Null(s.Preset);
        Assert.False(s.EscapeHtml);
        Assert.Equal(TimeSpan.FromSeconds(3), s.IdleConnectionTimeout);
    }

    [Theory]
    [InlineData("localhost", null, null, "http://localhost:9200")]
    [InlineData("10.45.3.2:9220", "https", "/elasticsearch", "https://10.45.3.2:9220/elasticsearch")]
    [InlineData("http://es.example.com", null, null, "http://es.example.com:9200")]
    [InlineData("https://es.example.com:443", null, null, "https://es.example.com")]
    [InlineData("https://es.found.io:9243/prefix/", null, "/ignored", "https://es.found.io:9243/prefix")]
    [InlineData("[::1]:9201", null, null, "http://[::1]:9201")]
    [InlineData("[::1]", null, null, "http://[::1]:9200")]
    public void HostsAreNormalisedLikeMakeUrl(string host, string? protocol, string? path, string expected)
    {
        var yaml = $"hosts: [\"{host}\"]\n" + (protocol is null ? "" : $"protocol: {protocol}\n") + (path is null ? "" : $"path: {path}\n");
        Assert.Equal(expected, Parse(yaml).Hosts[0].Display);
    }

    [Fact]
    public void CredentialsInTheUrlAreTakenOutOfIt()
    {
        var s = Parse("hosts: [\"https://writer:s3cr%40t@es:9200\"]\n");

        Assert.Equal("https://es:9200", s.Hosts[0].Display);
        Assert.Equal("writer", s.Username);
        Assert.Equal("s3cr@t", s.Password);
        Assert.Equal("https://writer:xxxxx@es:9200", ElasticsearchSettings.RedactValue("hosts", "https://writer:s3cr%40t@es:9200"));
    }

    [Fact]
    public void ErrorsNameTheSettingAndWhereItWasWritten()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("hosts: [\"localhost\"]\ncompression_level: 10\n"));
        Assert.Equal("output.elasticsearch.compression_level", e.Path);
        Assert.Contains("test.yml:2:", e.Message, StringComparison.Ordinal);
        Assert.Contains("must be between 0 and 9", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("compression_level: 1\n", "hosts", "no Elasticsearch hosts configured")]
    [InlineData("hosts: [\"ftp://es\"]\n", "hosts.0", "only http and https")]
    [InlineData("hosts: [\"es\"]\napi_key: nocolon\n", "api_key", "id:key")]
    [InlineData("hosts: [\"es\"]\napi_key: a:b\nusername: u\n", "api_key", "not both")]
    [InlineData("hosts: [\"es\"]\nbackoff.init: 10s\nbackoff.max: 1s\n", "backoff.max", "must not be smaller")]
    [InlineData("hosts: [\"es\"]\nindex: \"shipper-%{[agent.version]\"\n", "index", "not closed")]
    [InlineData("hosts: [\"es\"]\nindex: \"_shipper\"\n", "index", "must not start with")]
    [InlineData("hosts: [\"es\"]\nindex: \"x-%{+yyyy.ww}\"\n", "index", "supported are y, M, d, H, m, s")]
    [InlineData("hosts: [\"es\"]\npreset: turbo\n", "preset", "is not one of")]
    [InlineData("hosts: [\"es\"]\nmax_retries: -2\n", "max_retries", "out of range")]
    [InlineData("hosts: [\"es\"]\nnon_indexable_policy.dead_letter_index: {}\n", "non_indexable_policy.dead_letter_index", "needs an index")]
    [InlineData("hosts: [\"es\"]\nnon_indexable_policy.dead_letter_index.index: Dead\n", "non_indexable_policy.dead_letter_index.index", "lowercase")]
    [InlineData("hosts: [\"es\"]\nnon_indexable_policy.retry: ~\n", "non_indexable_policy.retry", "unknown policy")]
    [InlineData("hosts: [\"es\"]\nssl.verification_mode: sometimes\n", "ssl.verification_mode", "is not one of")]
    [InlineData("hosts: [\"es\"]\nssl.certificate_authorities: [\"/nonexistent/ca.pem\"]\n", "ssl.certificate_authorities.0", "cannot read the CA certificate file")]
    [InlineData("hosts: [\"es\"]\nssl.certificate: /tmp/x.pem\n", "ssl.certificate", "must be set together")]
    public void BadSettingsAreRefusedByName(string yaml, string key, string? problem)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(yaml));
        Assert.Equal("output.elasticsearch." + key, e.Path);
        if (problem is not null)
        {
            Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TyposAreUnknownSettings()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("hosts: [\"es\"]\nbulk_max_sise: 50\n"));
        Assert.Contains("unknown setting 'output.elasticsearch.bulk_max_sise'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryDocumentedSettingIsKnown()
    {
        var s = Parse("""
            hosts: ["https://es1:9200", "es2"]
            protocol: https
            path: /es
            username: writer
            password: secret
            headers:
              X-Tenant: blue
            parameters:
              refresh: "false"
            index: "shipper-%{[agent.version]}-%{+yyyy.MM.dd}"
            pipeline: "%{[event.module]}-pipeline"
            bulk_max_size: 500
            worker: 2
            compression_level: 5
            escape_html: true
            timeout: 30s
            backoff.init: 2s
            backoff.max: 2m
            idle_connection_timeout: 10s
            max_retries: -1
            loadbalance: false
            enabled: true
            proxy_disable: true
            ssl.enabled: true
            ssl.verification_mode: certificate
            ssl.supported_protocols: [TLSv1.2, TLSv1.3]
            non_indexable_policy.drop: ~
            preset: custom
            """);

        Assert.Equal(2, s.Hosts.Count);
        Assert.Equal("https://es2:9200/es", s.Hosts[1].Display);
        Assert.Equal("blue", s.Headers["X-Tenant"]);
        Assert.Equal("false", s.Parameters["refresh"]);
        Assert.Equal(500, s.BulkMaxSize);
        Assert.Equal(2, s.Worker);
        Assert.Equal(2, s.Concurrency);
        Assert.Equal(5, s.CompressionLevel);
        Assert.Equal(-1, s.MaxRetries);
        Assert.Equal(TimeSpan.FromMinutes(2), s.BackoffMax);
        Assert.Equal(TlsVerificationMode.Certificate, s.Ssl.VerificationMode);
        Assert.NotNull(s.Pipeline);
        Assert.True(s.Index.HasTimestamp);
    }

    [Fact]
    public void PresetsOverrideTheirKeysWithAWarning()
    {
        var s = Parse("hosts: [\"es\", \"es2\"]\npreset: throughput\nworker: 1\nbulk_max_size: 99\n");

        Assert.Equal(OutputPreset.Throughput, s.Preset);
        Assert.Equal(4, s.Worker);
        Assert.Equal(1600, s.BulkMaxSize);
        Assert.Equal(8, s.Concurrency);
        Assert.Equal(TimeSpan.FromSeconds(15), s.IdleConnectionTimeout);
        Assert.Equal(12800, s.Preset!.QueueEvents);
        Assert.Contains(s.Warnings, w => w.Contains("overrides the setting output.elasticsearch.worker", StringComparison.Ordinal));
        Assert.Contains(s.Warnings, w => w.Contains("output.elasticsearch.bulk_max_size", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("balanced", 1600, 1, 3)]
    [InlineData("scale", 1600, 1, 1)]
    [InlineData("latency", 50, 1, 60)]
    public void PresetValuesMatchLibbeat(string name, int bulk, int worker, int idleSeconds)
    {
        var s = Parse($"hosts: [\"es\"]\npreset: {name}\n");
        Assert.Equal(bulk, s.BulkMaxSize);
        Assert.Equal(worker, s.Worker);
        Assert.Equal(TimeSpan.FromSeconds(idleSeconds), s.IdleConnectionTimeout);
        Assert.Equal(1, s.CompressionLevel);
    }

    [Fact]
    public void DeadLetterPolicy()
    {
        var s = Parse("hosts: [\"es\"]\nnon_indexable_policy.dead_letter_index.index: shipper-dlq\n");
        Assert.Equal("shipper-dlq", s.NonIndexable.DeadLetterIndex);
    }

    [Fact]
    public void TlsSettingsOnHttpHostsWarn()
    {
        var s = Parse("hosts: [\"es\"]\nssl.verification_mode: none\n");
        Assert.Contains(s.Warnings, w => w.Contains("uses http", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("password", true)]
    [InlineData("api_key", true)]
    [InlineData("ssl.key_passphrase", true)]
    [InlineData("headers.authorization", true)]
    [InlineData("headers.X-Tenant", false)]
    [InlineData("username", false)]
    public void SecretsAreKnown(string path, bool secret)
    {
        Assert.Equal(secret, ElasticsearchSettings.IsSecret(path));
        Assert.Equal(secret ? "xxxxx" : "value", ElasticsearchSettings.RedactValue(path, "value"));
    }
}
