using System.Text;
using System.Text.Json;
using Shipper.Config;
using Shipper.Events;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Outputs.Console;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Outputs.Console;

public class ConsoleOutputTests
{
    private static DocumentWriter Documents(ConfigMap? fields = null, bool underRoot = false) => new(
        new AgentInfo { Name = "edge-1", Version = "1.2.3", Id = "agent-id", EphemeralId = "ephemeral" },
        HostInfo.Read(),
        new[] { "prod", "linux" },
        fields,
        underRoot);

    [Fact]
    public async Task WritesOneCompleteEcsDocumentPerLine()
    {
        var stdout = new MemoryStream();
        var metrics = new MetricsRegistry();
        var output = new ConsoleOutput(new ConsoleOutputSettings(false, 100), stdout, Documents(), metrics, Logger.Null, TimeProvider.System);
        var batch = Enumerable.Range(0, 3).Select(TestEvents.Create).ToArray();

        var result = await output.PublishAsync(batch, CancellationToken.None);

        Assert.Equal(3, result.Acked);
        var text = Encoding.UTF8.GetString(stdout.ToArray());
        Assert.EndsWith("\n", text);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var root = doc.RootElement;
            Assert.Equal("2026-11-26T01:02:03.456Z", root.GetProperty("@timestamp").GetString());
            Assert.Equal("shipper", root.GetProperty("@metadata").GetProperty("beat").GetString());
            Assert.Equal("_doc", root.GetProperty("@metadata").GetProperty("type").GetString());
            Assert.Equal("1.2.3", root.GetProperty("@metadata").GetProperty("version").GetString());
            Assert.Equal(BuildInfo.EcsVersion, root.GetProperty("ecs").GetProperty("version").GetString());
            Assert.Equal(new[] { "@timestamp", "@metadata", "event" }, root.EnumerateObject().Take(3).Select(p => p.Name));
            var agent = root.GetProperty("agent");
            Assert.Equal("shipper", agent.GetProperty("type").GetString());
            Assert.Equal("edge-1", agent.GetProperty("name").GetString());
            Assert.Equal("agent-id", agent.GetProperty("id").GetString());
            Assert.Equal("ephemeral", agent.GetProperty("ephemeral_id").GetString());
            var host = root.GetProperty("host");
            Assert.False(string.IsNullOrEmpty(host.GetProperty("hostname").GetString()));
            Assert.Equal("linux", host.GetProperty("os").GetProperty("type").GetString());
            Assert.False(string.IsNullOrEmpty(host.GetProperty("os").GetProperty("kernel").GetString()));
            var evt = root.GetProperty("event");
            Assert.Equal("system", evt.GetProperty("module").GetString());
            Assert.Equal("process", evt.GetProperty("dataset").GetString());
            Assert.Equal("process_started", evt.GetProperty("action").GetString());
            Assert.Equal("event", evt.GetProperty("kind").GetString());
            Assert.Equal("process", evt.GetProperty("category")[0].GetString());
            Assert.Equal("system", root.GetProperty("service").GetProperty("type").GetString());
            Assert.Equal(i, root.GetProperty("process").GetProperty("pid").GetInt32());
            Assert.Equal("test <&> \u00e9", root.GetProperty("process").GetProperty("name").GetString());
            Assert.Equal(new[] { "prod", "linux" }, root.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        }

        Assert.Equal(stdout.Length, metrics.Counter("output.write.bytes").Value);
    }

    [Fact]
    public async Task PrettyIndentsAndCustomFieldsKeepTheirYamlTypes()
    {
        var fields = new Shipper.Config.YamlConfigLoader().LoadText("env: prod\nlevel: 3\nflag: true\nzip: '01234'\n", "f.yml");
        var stdout = new MemoryStream();
        var output = new ConsoleOutput(new ConsoleOutputSettings(true, 100), stdout, Documents(fields), new MetricsRegistry(), Logger.Null, TimeProvider.System);
        await output.PublishAsync(new[] { TestEvents.Create(7) }, CancellationToken.None);

        var text = Encoding.UTF8.GetString(stdout.ToArray());
        Assert.Contains("\n  \"@metadata\"", text);
        using var doc = JsonDocument.Parse(text);
        var custom = doc.RootElement.GetProperty("fields");
        Assert.Equal("prod", custom.GetProperty("env").GetString());
        Assert.Equal(3, custom.GetProperty("level").GetInt32());
        Assert.True(custom.GetProperty("flag").GetBoolean());
        Assert.Equal("01234", custom.GetProperty("zip").GetString());
    }

    [Fact]
    public async Task FieldsUnderRootLandAtTheTop()
    {
        var fields = new Shipper.Config.YamlConfigLoader().LoadText("env: prod\n", "f.yml");
        var stdout = new MemoryStream();
        var output = new ConsoleOutput(new ConsoleOutputSettings(false, 100), stdout, Documents(fields, underRoot: true), new MetricsRegistry(), Logger.Null, TimeProvider.System);
        await output.PublishAsync(new[] { TestEvents.Create(7) }, CancellationToken.None);
        using var doc = JsonDocument.Parse(stdout.ToArray());
        Assert.Equal("prod", doc.RootElement.GetProperty("env").GetString());
        Assert.False(doc.RootElement.TryGetProperty("fields", out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AStoredDocumentIsShownWithThisRunsMetadataAfterItsTimestamp(bool pretty)
    {
        // As the disk queue hands documents back: encoded, without @metadata.
        var documents = Documents();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            documents.Write(writer, TestEvents.Create(3));
        }

        var stored = buffer.WrittenSpan.ToArray();
        Assert.DoesNotContain("@metadata", Encoding.UTF8.GetString(stored));
        var live = TestEvents.Create(3);
        var evt = new Shipper.Module.Registry.Event
        {
            Timestamp = live.Timestamp,
            Module = live.Module,
            Dataset = live.Dataset,
            Action = live.Action,
            Categories = Array.Empty<string>(),
            Types = Array.Empty<string>(),
            Body = new EncodedDocument(stored, 0),
        };

        var stdout = new MemoryStream();
        var output = new ConsoleOutput(new ConsoleOutputSettings(pretty, 100), stdout, documents, new MetricsRegistry(), Logger.Null, TimeProvider.System);
        await output.PublishAsync(new[] { evt }, CancellationToken.None);

        using var shown = JsonDocument.Parse(stdout.ToArray());
        var names = shown.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(new[] { "@timestamp", "@metadata", "event" }, names.Take(3));
        Assert.Single(names, n => n == "@metadata");
        Assert.Equal("1.2.3", shown.RootElement.GetProperty("@metadata").GetProperty("version").GetString());
        Assert.Equal("_doc", shown.RootElement.GetProperty("@metadata").GetProperty("type").GetString());

        // Apart from @metadata, the document is what was stored.
        using var original = JsonDocument.Parse(stored);
        Assert.Equal(
            original.RootElement.EnumerateObject().Select(p => p.Name + "=" + p.Value.GetRawText().Replace(" ", "").Replace("\n", "")),
            shown.RootElement.EnumerateObject().Where(p => p.Name != "@metadata").Select(p => p.Name + "=" + p.Value.GetRawText().Replace(" ", "").Replace("\n", "")));
    }
}
