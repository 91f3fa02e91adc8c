using System.Text.Json;
using System.Text.Json.Nodes;
using Shipper.Events;
using Shipper.IndexManagement;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;

namespace Shipper.Tests.Cmd.IndexManagement;

public class IndexTemplateBuilderTests
{
    private static readonly string Version = BuildInfo.Version;

    private static JsonObject Build(string templateYaml = "")
    {
        var settings = TemplateSettings.Parse(TestConfig.Section(templateYaml, "setup.template"));
        var json = new IndexTemplateBuilder(settings).ToJson();
        return JsonNode.Parse(json)!.AsObject();
    }

    private static JsonObject Field(JsonObject template, string dottedPath)
    {
        JsonNode node = template["template"]!["mappings"]!["properties"]!;
        var parts = dottedPath.Split('.');
        for (var i = 0; i < parts.Length; i++)
        {
            node = node[parts[i]] ?? throw new Xunit.Sdk.XunitException($"no mapping for {string.Join('.', parts[..(i + 1)])}");
            if (i < parts.Length - 1)
            {
                node = node["properties"] ?? throw new Xunit.Sdk.XunitException($"{string.Join('.', parts[..(i + 1)])} has no properties");
            }
        }

        return node.AsObject();
    }

    [Fact]
    public void TheEmbeddedFieldsYmlIsTheRepositoryOne()
    {
        var embedded = FieldsYml.Embedded();
        var fromRepo = FieldsYml.Parse(File.ReadAllText(Path.Combine(RepoRoot(), "fields.yml")), "fields.yml");
        Assert.Equal(fromRepo.Count, embedded.Count);
        Assert.Contains(embedded, f => f.Name == "@timestamp" && f.Type == "date");
    }

    [Fact]
    public void TheTemplateIsAComposableDataStreamTemplate()
    {
        var template = Build();

        Assert.Equal($"shipper-{Version}*", template["index_patterns"]![0]!.GetValue<string>());
        Assert.Equal(150, template["priority"]!.GetValue<int>());
        Assert.Empty(template["data_stream"]!.AsObject());
        var mappings = template["template"]!["mappings"]!;
        Assert.Equal("shipper", mappings["_meta"]!["beat"]!.GetValue<string>());
        Assert.Equal(Version, mappings["_meta"]!["version"]!.GetValue<string>());
        Assert.False(mappings["date_detection"]!.GetValue<bool>());
        var index = template["template"]!["settings"]!["index"]!;
        Assert.Equal("5s", index["refresh_interval"]!.GetValue<string>());
        Assert.Equal(10000, index["mapping"]!["total_fields"]!["limit"]!.GetValue<int>());
        var defaultFields = index["query"]!["default_field"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Contains("process.name", defaultFields);
        Assert.Contains("message", defaultFields);
        Assert.Contains("fields.*", defaultFields);
        Assert.DoesNotContain("process.pid", defaultFields);
        Assert.DoesNotContain("process.name.text", defaultFields);
    }

    [Fact]
    public void FieldTypesFollowFieldsYml()
    {
        var template = Build();

        Assert.Equal("date", Field(template, "@timestamp")["type"]!.GetValue<string>());
        Assert.Equal("keyword", Field(template, "agent.version")["type"]!.GetValue<string>());
        Assert.Equal(1024, Field(template, "agent.version")["ignore_above"]!.GetValue<int>());
        Assert.Equal("keyword", Field(template, "ecs.version")["type"]!.GetValue<string>());
        Assert.Equal("long", Field(template, "process.pid")["type"]!.GetValue<string>());
        Assert.Equal("long", Field(template, "process.tty.char_device.major")["type"]!.GetValue<string>());
        Assert.Equal("long", Field(template, "process.parent.pid")["type"]!.GetValue<string>());
        Assert.Equal("boolean", Field(template, "process.interactive")["type"]!.GetValue<string>());
        Assert.Equal("keyword", Field(template, "user.effective.group.id")["type"]!.GetValue<string>());
        Assert.Equal("match_only_text", Field(template, "message")["type"]!.GetValue<string>());
        Assert.False(Field(template, "message").ContainsKey("ignore_above"));
        var name = Field(template, "process.name");
        Assert.Equal("keyword", name["type"]!.GetValue<string>());
        Assert.Equal("match_only_text", name["fields"]!["text"]!["type"]!.GetValue<string>());
        Assert.Equal("object", Field(template, "fields")["type"]!.GetValue<string>());
    }

    [Fact]
    public void ObjectTypeBecomesADynamicTemplate()
    {
        var dynamic = Build()["template"]!["mappings"]!["dynamic_templates"]!.AsArray();

        var fields = dynamic.Select(d => d!.AsObject()).Single(d => d.ContainsKey("fields"))["fields"]!;
        Assert.Equal("fields.*", fields["path_match"]!.GetValue<string>());
        Assert.Equal("string", fields["match_mapping_type"]!.GetValue<string>());
        Assert.Equal("keyword", fields["mapping"]!["type"]!.GetValue<string>());
        var last = dynamic[^1]!["strings_as_keyword"]!;
        Assert.Equal(1024, last["mapping"]!["ignore_above"]!.GetValue<int>());
    }

    [Fact]
    public void UserSettingsAreMergedIn()
    {
        var template = Build("""
            name: audit
            pattern: "audit-*"
            priority: 200
            settings:
              index.number_of_shards: 1
              index.refresh_interval: 30s
              index.codec: best_compression
              _source.enabled: true
            """);

        Assert.Equal("audit-*", template["index_patterns"]![0]!.GetValue<string>());
        Assert.Equal(200, template["priority"]!.GetValue<int>());
        var index = template["template"]!["settings"]!["index"]!;
        Assert.Equal(1, index["number_of_shards"]!.GetValue<long>());
        Assert.Equal("30s", index["refresh_interval"]!.GetValue<string>());
        Assert.Equal("best_compression", index["codec"]!.GetValue<string>());
        Assert.Equal(10000, index["mapping"]!["total_fields"]!["limit"]!.GetValue<int>());
        Assert.True(template["template"]!["mappings"]!["_source"]!["enabled"]!.GetValue<bool>());
    }

    [Fact]
    public void DataStreamCanBeTurnedOff()
    {
        Assert.False(Build("data_stream: false\n").ContainsKey("data_stream"));
    }

    [Fact]
    public void IndentedExportIsValidJson()
    {
        var writer = new StringWriter();
        new IndexTemplateBuilder(TemplateSettings.Default).Export(writer);
        using var doc = JsonDocument.Parse(writer.ToString());
        Assert.Contains("\n  \"index_patterns\"", writer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void GroupsAndDottedNamesMerge()
    {
        var fields = FieldsYml.Parse("""
            - key: a
              fields:
                - name: host
                  type: group
                  fields:
                    - name: name
                - name: host.ip
                  type: ip
            - key: b
              fields:
                - name: host
                  type: group
                  fields:
                    - name: os.kernel
                      type: keyword
                      ignore_above: -1
                - name: events
                  type: nested
                  fields:
                    - name: count
                      type: integer
                - name: ratio
                  type: scaled_float
                - name: alias.of.name
                  type: alias
                  path: host.name
            """, "custom.yml");
        var json = JsonNode.Parse(new IndexTemplateBuilder(TemplateSettings.Default, "1.0.0", fields).ToJson())!.AsObject();

        Assert.Equal("keyword", Field(json, "host.name")["type"]!.GetValue<string>());
        Assert.Equal("ip", Field(json, "host.ip")["type"]!.GetValue<string>());
        Assert.False(Field(json, "host.os.kernel").ContainsKey("ignore_above"));
        Assert.Equal("nested", Field(json, "events")["type"]!.GetValue<string>());
        Assert.Equal("long", json["template"]!["mappings"]!["properties"]!["events"]!["properties"]!["count"]!["type"]!.GetValue<string>());
        Assert.Equal(1000, Field(json, "ratio")["scaling_factor"]!.GetValue<int>());
        Assert.Equal("host.name", Field(json, "alias.of.name")["path"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("- key: a\n  fields:\n    - name: x\n      type: strnig\n", "custom.yml:4:", "unknown type 'strnig'")]
    [InlineData("- key: a\n  fields:\n    - type: keyword\n", "custom.yml:3:", "needs a name")]
    [InlineData("- key: a\n  fields:\n    - name: x\n      ignore_above: lots\n", "custom.yml:4:", "whole number")]
    [InlineData("- key: a\n  fields: [\n", "custom.yml:", "")]
    public void BadFieldsYmlNamesTheLine(string yaml, string where, string problem)
    {
        var e = Assert.Throws<FormatException>(() => FieldsYml.Parse(yaml, "custom.yml"));
        Assert.Contains(where, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    internal static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Shipper.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("repository root not found");
    }
}
