using Shipper.Config;

namespace Shipper.Tests.Cmd.Config;

public class ConfigExporterTests
{
    [Fact]
    public void SecretsAreRedactedAndTheRestRoundTrips()
    {
        var loader = new YamlConfigLoader();
        var root = loader.LoadText("""
            output.elasticsearch:
              hosts: ["es:9200"]
              username: shipper
              password: hunter2
              api_key: "id:key"
              headers:
                Authorization: Bearer abc
            name: "007"
            """, "test.yml");

        var text = new StringWriter();
        ConfigExporter.Write(root, text);
        var yaml = text.ToString();
        Assert.DoesNotContain("hunter2", yaml);
        Assert.DoesNotContain("id:key", yaml);
        Assert.DoesNotContain("Bearer abc", yaml);
        Assert.Contains("[redacted]", yaml);
        Assert.Contains("username: shipper", yaml);

        // The export is itself a valid config with the same (non-secret) values and types.
        var again = loader.LoadText(yaml, "export.yml");
        var es = (Shipper.Module.Config.ConfigMap)((Shipper.Module.Config.ConfigMap)again.Get("output")!).Get("elasticsearch")!;
        Assert.Equal("shipper", ((Shipper.Module.Config.ConfigScalar)es.Get("username")!).Value);
        var name = (Shipper.Module.Config.ConfigScalar)again.Get("name")!;
        Assert.Equal("007", name.Value);
        Assert.True(name.IsQuoted);
    }
}
