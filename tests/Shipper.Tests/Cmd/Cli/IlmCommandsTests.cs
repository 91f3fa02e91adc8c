using System.Text.Json;
using Shipper.Cli;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Cli;

/// <summary>`shipper export ilm-policy` and how `test config` treats setup.ilm, as a user runs them.</summary>
public class IlmCommandsTests
{
    private const string ToElasticsearch = """
        shipper.modules:
          - module: system
            datasets: [process]
        output.elasticsearch:
          hosts: ["http://127.0.0.1:9"]
        """;

    private static (int Code, string Out, string Err) Run(params string[] args) => CommandLineTests.Run(args);

    [Fact]
    public void ExportIlmPolicyPrintsTheDefaultPolicy()
    {
        using var config = new TempConfig(ToElasticsearch);

        var (code, stdout, stderr) = Run("export", "ilm-policy", "-c", config.Path);

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        using var doc = JsonDocument.Parse(stdout);
        var rollover = doc.RootElement.GetProperty("policy").GetProperty("phases").GetProperty("hot").GetProperty("actions").GetProperty("rollover");
        Assert.Equal("50gb", rollover.GetProperty("max_primary_shard_size").GetString());
        Assert.Equal("30d", rollover.GetProperty("max_age").GetString());
        Assert.Contains("\n  \"policy\": {\n", stdout, StringComparison.Ordinal); // indented, as auditbeat prints it
    }

    [Fact]
    public void ExportIlmPolicyPrintsThePolicyFileFromPathConfig()
    {
        using var config = new TempConfig(ToElasticsearch + "\nsetup.ilm.policy_file: my-policy.json\n");
        File.WriteAllText(Path.Combine(config.Directory, "my-policy.json"), """{"policy":{"phases":{"delete":{"min_age":"30d","actions":{"delete":{}}}}}}""");

        var (code, stdout, _) = Run("export", "ilm-policy", "-c", config.Path, "--path.config", config.Directory);

        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("30d", doc.RootElement.GetProperty("policy").GetProperty("phases").GetProperty("delete").GetProperty("min_age").GetString());
    }

    [Fact]
    public void UnknownKeysUnderSetupIlmAreErrors()
    {
        using var config = new TempConfig(ToElasticsearch + "\nsetup.ilm.polcy_name: mine\n");

        var (code, _, stderr) = Run("test", "config", "-c", config.Path);

        Assert.Equal(1, code);
        Assert.Contains("config error in 'setup.ilm.polcy_name'", stderr, StringComparison.Ordinal);
        Assert.Contains("unknown setting", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadPolicyFileFailsTestConfigNamingTheFile()
    {
        using var config = new TempConfig(ToElasticsearch + "\nsetup.ilm.policy_file: broken.json\n");
        File.WriteAllText(Path.Combine(config.Directory, "broken.json"), "{\"policy\": {\"phases\": {\"hot\": {}}}");

        var (code, _, stderr) = Run("test", "config", "-c", config.Path, "--path.config", config.Directory);

        Assert.Equal(1, code);
        Assert.Contains("config error in 'setup.ilm.policy_file'", stderr, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(config.Directory, "broken.json") + " is not valid JSON at line 1", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidIlmSettingsPassTestConfig()
    {
        using var config = new TempConfig(ToElasticsearch + "\nsetup.ilm:\n  enabled: true\n  policy_name: audit\n  check_exists: true\n  overwrite: false\nsetup.dsl.enabled: false\n");

        var (code, stdout, stderr) = Run("test", "config", "-c", config.Path);

        Assert.True(code == 0, stderr);
        Assert.Equal("Config OK\n", stdout);
    }

    [Fact]
    public void SetupIlmWithTheConsoleOutputIsAWarning()
    {
        using var config = new TempConfig(TempConfig.ProcessesToConsole + "\nsetup.ilm.enabled: false\n");

        var (code, stdout, _) = Run("test", "config", "-c", config.Path);

        Assert.Equal(0, code);
        Assert.Contains("Warning: setup.ilm is ignored: ILM policies are installed by output.elasticsearch, and the output is console", stdout, StringComparison.Ordinal);
    }
}
