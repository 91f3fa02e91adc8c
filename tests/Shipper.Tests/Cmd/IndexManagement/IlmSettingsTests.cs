using Shipper.Events;
using Shipper.IndexManagement;
using Shipper.Module.Config;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.IndexManagement;

public class IlmSettingsTests
{
    private static IlmSettings Parse(string ilmYaml, string dslYaml = "", string configDirectory = "/etc/shipper") =>
        IlmSettings.Parse(TestConfig.Section(ilmYaml, "setup.ilm"), TestConfig.Section(dslYaml, "setup.dsl"), configDirectory);

    [Fact]
    public void DefaultsAreLibbeatsWithShippersName()
    {
        var settings = Parse("");
        var policy = new IlmPolicy(settings);

        Assert.True(settings.Enabled);
        Assert.True(settings.CheckExists);
        Assert.False(settings.Overwrite);
        Assert.Null(settings.PolicyFile);
        Assert.Equal("shipper", policy.Name);
        Assert.True(policy.HasRollover);
        Assert.Equal("""{"policy":{"phases":{"hot":{"actions":{"rollover":{"max_primary_shard_size":"50gb","max_age":"30d"}}}}}}""", System.Text.Encoding.UTF8.GetString(policy.Body));
    }

    [Fact]
    public void PolicyNameIsAFormatStringOfAgentNameAndVersion()
    {
        Assert.Equal($"shipper-{BuildInfo.Version}-ilm", new IlmPolicy(Parse("policy_name: \"%{[agent.name]}-%{[agent.version]}-ilm\"\n")).Name);
        Assert.Equal("x-7.1.0", new IlmPolicy(Parse("policy_name: \"x-%{[agent.version]}\"\n"), "7.1.0").Name);
    }

    [Theory]
    [InlineData("\"%{[host.name]}\"", "refers to [host.name]; only agent.name and agent.version are known")]
    [InlineData("\"logs-%{+yyyy.MM.dd}\"", "uses a timestamp")]
    [InlineData("\"a,b\"", "must not contain ','")]
    [InlineData("\"a b\"", "must not contain a space")]
    [InlineData("_hidden", "must not start with '_'")]
    [InlineData("\"%{[agent.name\"", "is not closed")]
    public void ABadPolicyNameIsAnErrorAtTheKey(string value, string problem)
    {
        var e = Assert.Throws<ConfigException>(() => Parse($"policy_name: {value}\n"));

        Assert.Equal("setup.ilm.policy_name", e.Path);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Contains("test.yml:1:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARelativePolicyFileIsTakenFromPathConfigAndCompacted()
    {
        using var dir = new TempConfig("{}");
        File.WriteAllText(Path.Combine(dir.Directory, "ilm.json"), "{\n  \"policy\": { \"phases\": { \"delete\": { \"min_age\": \"7d\", \"actions\": { \"delete\": {} } } } }\n}\n");

        var settings = Parse("policy_file: ilm.json\n", configDirectory: dir.Directory);

        Assert.Equal(Path.Combine(dir.Directory, "ilm.json"), settings.PolicyFile);
        Assert.Equal("""{"policy":{"phases":{"delete":{"min_age":"7d","actions":{"delete":{}}}}}}""", System.Text.Encoding.UTF8.GetString(settings.PolicyBody));
        Assert.False(new IlmPolicy(settings).HasRollover);
    }

    [Theory]
    [InlineData("{\"policy\": {\"phases\": {}},\n  oops\n}", "is not valid JSON at line 2, byte 3")]
    [InlineData("[1, 2]", "expected a JSON object {\"policy\": {\"phases\": {…}}}, got an array")]
    [InlineData("{\"phases\": {\"hot\": {}}}", "the body has no \"policy\" object")]
    [InlineData("{\"policy\": {\"phases\": {}}, \"name\": \"x\"}", "unknown field \"name\" beside \"policy\"")]
    [InlineData("{\"policy\": {\"hot\": {}}}", "\"policy\" needs a \"phases\" object")]
    [InlineData("{\"policy\": {\"phases\": {\"hot\": []}}}", "phase \"hot\" must be an object, got an array")]
    [InlineData("", "is not valid JSON at line 1, byte 1")]
    [InlineData("{\"policy\": {\"phases\": {\"hot\": {}}}\n", "is not valid JSON at line 2, byte 1: Expected depth to be zero")]
    public void ABadPolicyFileNamesTheFileAndTheProblem(string content, string problem)
    {
        using var dir = new TempConfig("{}");
        var file = Path.Combine(dir.Directory, "bad.json");
        File.WriteAllText(file, content);

        var e = Assert.Throws<ConfigException>(() => Parse($"policy_file: {file}\n"));

        Assert.Equal("setup.ilm.policy_file", e.Path);
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", e.Message, StringComparison.Ordinal); // said once, 1-based
    }

    [Fact]
    public void AMissingOrNonRegularPolicyFileIsAnError()
    {
        using var dir = new TempConfig("{}");
        var missing = Path.Combine(dir.Directory, "missing.json");

        var e = Assert.Throws<ConfigException>(() => Parse($"policy_file: {missing}\n"));
        Assert.Equal("setup.ilm.policy_file", e.Path);
        Assert.Contains($"{missing} not found", e.Message, StringComparison.Ordinal);

        var directory = Assert.Throws<ConfigException>(() => Parse($"policy_file: {dir.Directory}\n"));
        Assert.Contains("is a directory, not a regular file", directory.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetupDslIsRefusedUnlessDisabled()
    {
        Assert.True(Parse("", "enabled: false\n").Enabled);

        var enabled = Assert.Throws<ConfigException>(() => Parse("", "enabled: true\n"));
        Assert.Equal("setup.dsl.enabled", enabled.Path);
        Assert.Contains("Elasticsearch Serverless, which shipper does not support: use setup.ilm", enabled.Message, StringComparison.Ordinal);

        var other = Assert.Throws<ConfigException>(() => Parse("", "data_stream_pattern: \"x-%{[agent.version]}\"\n"));
        Assert.Equal("setup.dsl.data_stream_pattern", other.Path);
    }

    [Fact]
    public void WrongTypesAreErrors()
    {
        Assert.Equal("setup.ilm.enabled", Assert.Throws<ConfigException>(() => Parse("enabled: maybe\n")).Path);
        Assert.Equal("setup.ilm.check_exists", Assert.Throws<ConfigException>(() => Parse("check_exists: [1]\n")).Path);
        Assert.Equal("setup.ilm.overwrite", Assert.Throws<ConfigException>(() => Parse("overwrite: 2\n")).Path);
    }

    [Fact]
    public void TheTemplateGetsTheLifecycleNameUnlessTheUserSetOne()
    {
        var plain = TemplateSettings.Parse(TestConfig.Section("", "setup.template"));
        var linked = plain.WithLifecycleName("shipper");
        Assert.Equal("shipper", ((JsonObjectTree)linked.IndexSettings["lifecycle"]!)["name"]);
        Assert.Equal(0, plain.IndexSettings.Count); // the original is not changed

        var own = TemplateSettings.Parse(TestConfig.Section("settings.index.lifecycle.name: mine\nsettings.index.lifecycle.parse_origination_date: true\n", "setup.template"));
        Assert.Same(own, own.WithLifecycleName("shipper"));

        var other = TemplateSettings.Parse(TestConfig.Section("settings.index.lifecycle.parse_origination_date: true\n", "setup.template"));
        var merged = (JsonObjectTree)other.WithLifecycleName("shipper").IndexSettings["lifecycle"]!;
        Assert.Equal("shipper", merged["name"]);
        Assert.Equal(true, merged["parse_origination_date"]);
        Assert.False(((JsonObjectTree)other.IndexSettings["lifecycle"]!).ContainsKey("name"));
    }
}
