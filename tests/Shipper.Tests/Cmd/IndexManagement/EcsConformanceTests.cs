using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Shipper.Events;
using Shipper.IndexManagement;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Enrichment;
using Shipper.Module.System.Process.Tracking;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;

namespace Shipper.Tests.Cmd.IndexManagement;

/// <summary>fields.yml and the template it makes, against ECS 8.17; ecs.version against the fields documents carry.</summary>
public sealed class EcsConformanceTests
{
    private static readonly IReadOnlyList<FieldDefinition> Fields = FieldsYml.Embedded();

    private static DocumentFields Checker()
    {
        using var template = JsonDocument.Parse(new IndexTemplateBuilder(TemplateSettings.Default).ToJson());
        return new DocumentFields(Fields, template.RootElement.Clone());
    }

    [Fact]
    public void EveryDeclaredFieldIsEitherInTheEcsTableOrKnownNotToBeEcs()
    {
        foreach (var path in Checker().Declared.Keys)
        {
            Assert.True(EcsReference.Fields.ContainsKey(path) ^ EcsReference.NotEcs.ContainsKey(path), $"{path}: look up its ECS definition and add it to EcsReference");
        }
    }

    [Fact]
    public void TheTemplateMapsEveryDeclaredFieldAsEcs817Does()
    {
        var checker = Checker();
        var problems = checker.Declared.Keys.Select(checker.MappingProblem).Where(p => p is not null).ToList();
        Assert.Empty(problems);
    }

    [Fact]
    public void CommandLinesAreWildcardWithoutIgnoreAboveAndTextAsEcsMapsThem()
    {
        using var template = JsonDocument.Parse(new IndexTemplateBuilder(TemplateSettings.Default).ToJson());
        var process = template.RootElement.GetProperty("template").GetProperty("mappings").GetProperty("properties").GetProperty("process").GetProperty("properties");
        foreach (var commandLine in new[] { process.GetProperty("command_line"), process.GetProperty("parent").GetProperty("properties").GetProperty("command_line") })
        {
            Assert.Equal("{\"type\":\"wildcard\",\"fields\":{\"text\":{\"type\":\"match_only_text\"}}}", commandLine.GetRawText());
        }
    }

    [Fact]
    public void ObjectFieldsBecomeKeywordDynamicTemplatesBeforeStringsAsKeyword()
    {
        using var template = JsonDocument.Parse(new IndexTemplateBuilder(TemplateSettings.Default).ToJson());
        var dynamic = template.RootElement.GetProperty("template").GetProperty("mappings").GetProperty("dynamic_templates").EnumerateArray()
            .Select(t => t.EnumerateObject().Single()).ToList();
        Assert.Equal("strings_as_keyword", dynamic[^1].Name);
        foreach (var name in new[] { "fields", "labels", "container.labels" })
        {
            var entry = dynamic.Single(d => d.Name == name).Value;
            Assert.Equal(name + ".*", entry.GetProperty("path_match").GetString());
            Assert.Equal("string", entry.GetProperty("match_mapping_type").GetString());
            Assert.Equal("keyword", entry.GetProperty("mapping").GetProperty("type").GetString());
        }
    }

    [Fact]
    public void EcsVersionIsTheLowestReleaseDefiningEveryEcsFieldAFullDocumentCarries()
    {
        var checker = Checker();
        using var document = JsonDocument.Parse(FullDocument());
        var leaves = checker.Leaves(document.RootElement).ToList();
        var problems = leaves.Select(l => checker.Problem(l.Path, l.Value, BuildInfo.EcsVersion)).Where(p => p is not null).ToList();
        Assert.Empty(problems);

        var newest = leaves.Select(l => l.Path).Distinct().Where(EcsReference.Fields.ContainsKey)
            .Select(p => Version.Parse(EcsReference.Fields[p].Since)).Max()!;
        Assert.Equal(Version.Parse(BuildInfo.EcsVersion), newest);
        Assert.Equal(BuildInfo.EcsVersion, document.RootElement.GetProperty("ecs").GetProperty("version").GetString());
    }

    [Fact]
    public void AFieldNewerThanTheDeclaredEcsVersionIsCaught()
    {
        var checker = Checker();
        using var document = JsonDocument.Parse(FullDocument());
        var capabilities = checker.Leaves(document.RootElement).First(l => l.Path == "process.thread.capabilities.effective");
        Assert.Contains("later than the declared ecs.version 8.9.0", checker.Problem(capabilities.Path, capabilities.Value, "8.9.0"));
    }

    /// <summary>A process document with every field the process dataset can write, with its envelope.</summary>
    private static byte[] FullDocument()
    {
        var document = new ProcessDocument
        {
            Action = ProcessAction.For(ProcessEvents.Fork | ProcessEvents.Exec | ProcessEvents.Exit),
            Timestamp = new DateTime(2024, 5, 1, 10, 0, 0, DateTimeKind.Utc),
            StateId = "state-1",
            Pid = 4242,
            Name = "curl",
            Args = new[] { "curl", "-s", "https://example.com/a b" },
            Executable = "/usr/bin/curl",
            WorkingDirectory = "/tmp",
            Start = 1_714_557_600_000_000_000,
            EntityId = "e-1",
            End = 1_714_557_601_000_000_000,
            Exit = ExitStatus.FromWaitStatus(9),
            TtyKnown = true,
            Tty = new TtyDevice(136, 3),
            CapabilitiesEffective = new[] { "CAP_CHOWN" },
            CapabilitiesPermitted = new[] { "CAP_CHOWN" },
            ParentPid = 1,
            ParentName = "bash",
            ParentExecutable = "/usr/bin/bash",
            ParentArgs = new[] { "-bash" },
            ParentEntityId = "e-0",
            GroupLeaderPid = 4242,
            SessionLeaderPid = 4000,
            Uids = new uint[] { 1000, 0, 0 },
            Gids = new uint[] { 1000, 0, 0 },
            UserName = "alice",
            GroupName = "staff",
        };
        foreach (var type in new[] { "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha512_224", "sha512_256", "sha3_224", "sha3_256", "sha3_384", "sha3_512", "blake2b_256", "blake2b_384", "blake2b_512", "xxh64" })
        {
            document.AddHash(new ExecutableDigest(type, "00ff"));
        }

        document.AddError("cannot hash: too big");
        var fields = new Shipper.Config.YamlConfigLoader().LoadText("env: prod\n", "f.yml");
        var writer = new DocumentWriter(TestDocuments.Agent, TestDocuments.Host, new[] { "t" }, fields, false);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.Write(json, document.ToEvent());
        }

        return buffer.WrittenSpan.ToArray();
    }
}
