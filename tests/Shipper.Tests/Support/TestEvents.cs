using System.Text.Json;
using Shipper.Module.Registry;

namespace Shipper.Tests.Support;

/// <summary>Small real events for publisher and output tests.</summary>
public static class TestEvents
{
    public static Event Create(int sequence) => new()
    {
        Timestamp = new DateTime(2026, 11, 26, 1, 2, 3, 456, DateTimeKind.Utc),
        Module = "system",
        Dataset = "process",
        Action = "process_started",
        Categories = new[] { "process" },
        Types = new[] { "start" },
        Body = new SequenceBody(sequence),
    };

    public static int SequenceOf(Event evt) => ((SequenceBody)evt.Body).Sequence;

    public sealed class SequenceBody : IEventBody
    {
        public SequenceBody(int sequence) => Sequence = sequence;

        public int Sequence { get; }

        public void WriteFields(Utf8JsonWriter writer)
        {
            writer.WriteStartObject("process");
            writer.WriteNumber("pid", Sequence);
            writer.WriteString("name", "test <&> \u00e9");
            writer.WriteEndObject();
            writer.WriteString("message", $"event {Sequence}");
        }
    }
}
