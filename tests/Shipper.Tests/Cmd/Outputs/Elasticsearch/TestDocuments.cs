using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Shipper.Events;
using Shipper.Module.Registry;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>Realistic process documents (the shape of Auditbeat's system/process) and their expected JSON.</summary>
public static class TestDocuments
{
    private static readonly string[] Categories = { "process" };
    private static readonly string[] StartTypes = { "start" };

    public static AgentInfo Agent { get; } = new()
    {
        Name = "test-host",
        Version = BuildInfo.Version,
        Id = "0d5a1a1e-6f4e-4a47-9f3c-7b2f0c6f7a11",
        EphemeralId = "7c1f0b4e-2f8a-4d9e-a2b1-5e3c9d8f6a20",
    };

    public static HostInfo Host { get; } = new()
    {
        Name = "test-host",
        Hostname = "test-host",
        Id = "4f1c2b3a5d6e7f8091a2b3c4d5e6f708",
        Architecture = "x86_64",
        OsType = "linux",
        OsFamily = "debian",
        OsName = "Debian GNU/Linux",
        OsVersion = "12 (bookworm)",
        OsPlatform = "debian",
        OsKernel = "6.1.0-18-amd64",
    };

    public static DocumentWriter Writer { get; } = new(Agent, Host, Array.Empty<string>(), null, false);

    public static Event Process(int seq, DateTime? timestamp = null, string? pid = null) => new()
    {
        Timestamp = timestamp ?? new DateTime(2024, 5, 17, 10, 0, 0, DateTimeKind.Utc).AddMilliseconds(seq),
        Module = "system",
        Dataset = "process",
        Action = "process_started",
        Categories = Categories,
        Types = StartTypes,
        Body = new ProcessBody(seq, pid),
    };

    public static List<Event> Processes(int count, int first = 0)
    {
        var events = new List<Event>(count);
        for (var i = 0; i < count; i++)
        {
            events.Add(Process(first + i));
        }

        return events;
    }

    /// <summary>The document the output must deliver for an event, byte for byte.</summary>
    public static string Expected(Event evt)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Writer.Write(writer, evt);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The sequence number a stored document carries (process.entity_id "e-N").</summary>
    public static int SequenceOf(string document)
    {
        using var doc = JsonDocument.Parse(document);
        var entity = doc.RootElement.GetProperty("process").GetProperty("entity_id").GetString()!;
        return int.Parse(entity.AsSpan(2), System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed class ProcessBody : IEventBody
    {
        private readonly int _seq;
        private readonly string? _pid;

        public ProcessBody(int seq, string? pid)
        {
            _seq = seq;
            _pid = pid;
        }

        public void WriteFields(Utf8JsonWriter writer)
        {
            writer.WriteStartObject("process");
            writer.WriteString("name", "bash");
            writer.WriteStartArray("args");
            writer.WriteStringValue("/bin/bash");
            writer.WriteStringValue("-c");
            writer.WriteStringValue($"echo run {_seq} && sleep 1 | tee /tmp/out-{_seq}.log");
            writer.WriteEndArray();
            writer.WriteNumber("args_count", 3);
            if (_pid is null)
            {
                writer.WriteNumber("pid", 1000 + _seq);
            }
            else
            {
                writer.WriteString("pid", _pid);
            }

            writer.WriteString("entity_id", $"e-{_seq}");
            writer.WriteString("executable", "/usr/bin/bash");
            writer.WriteString("working_directory", "/home/alice/projects/shipper");
            writer.WriteString("start", "2024-05-17T10:00:00.000Z");
            writer.WriteStartObject("parent");
            writer.WriteNumber("pid", 1);
            writer.WriteEndObject();
            writer.WriteStartObject("hash");
            writer.WriteString("sha1", "b4d3c1a0e9f8d7c6b5a4f3e2d1c0b9a8f7e6d5c4");
            writer.WriteString("sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteStartObject("user");
            writer.WriteString("id", "1000");
            writer.WriteString("name", "alice");
            writer.WriteStartObject("group");
            writer.WriteString("id", "1000");
            writer.WriteString("name", "alice");
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteString("message", $"Process bash (PID: {1000 + _seq}) by user alice STARTED");
        }
    }
}
