using System.Buffers;
using System.Text;
using System.Text.Json;
using Shipper.Module.Monitoring;

namespace Shipper.Monitoring;

/// <summary>Writes flat dotted metric names as nested JSON objects (<c>pipeline.events.total</c> → {"pipeline":{"events":{"total":…}}}).</summary>
public static class MetricsJson
{
    public static void Write(Utf8JsonWriter writer, IReadOnlyList<MetricValue> metrics)
    {
        // Names arrive sorted, so a stack of open objects is enough.
        var open = new List<string>();
        writer.WriteStartObject();
        foreach (var metric in metrics)
        {
            var parts = metric.Name.Split('.');
            var common = 0;
            while (common < open.Count && common < parts.Length - 1 && open[common] == parts[common])
            {
                common++;
            }

            for (var i = open.Count; i > common; i--)
            {
                writer.WriteEndObject();
            }

            open.RemoveRange(common, open.Count - common);
            for (var i = common; i < parts.Length - 1; i++)
            {
                writer.WriteStartObject(parts[i]);
                open.Add(parts[i]);
            }

            var leaf = parts[^1];
            if (metric.Kind == MetricKind.Text)
            {
                writer.WriteString(leaf, metric.Text);
            }
            else
            {
                writer.WriteNumber(leaf, metric.Number);
            }
        }

        for (var i = 0; i < open.Count; i++)
        {
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    public static string ToJson(IReadOnlyList<MetricValue> metrics, bool indented = false)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            Write(writer, metrics);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
