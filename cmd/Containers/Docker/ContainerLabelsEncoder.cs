using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Shipper.Containers.Docker;

/// <summary>
/// Encodes a container's labels once, as <c>container.labels</c> will be written. With <c>labels.dedot</c> (the
/// default) every '.' in a key becomes '_' and the labels stay flat (<c>com.example.tier</c> →
/// <c>com_example_tier</c>), so a label never turns into an object mapping. Without it a key nests on its dots
/// (<c>com.example.tier</c> → <c>com: {example: {tier: …}}</c>); where one label's key is a prefix of another's
/// (<c>a</c> and <c>a.b</c>), the shorter one's value moves to <c>a.value</c>, as libbeat's safemapstr does. Keys are
/// written in ordinal order, so one container always encodes the same.
/// </summary>
public static class ContainerLabelsEncoder
{
    public static byte[]? Encode(IReadOnlyList<KeyValuePair<string, string>> labels, bool dedot)
    {
        if (labels.Count == 0)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(64 * labels.Count);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            if (dedot)
            {
                var flat = new SortedDictionary<string, string>(StringComparer.Ordinal);
                foreach (var (key, value) in labels)
                {
                    flat[key.Replace('.', '_')] = value;
                }

                writer.WriteStartObject();
                foreach (var (key, value) in flat)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }
            else
            {
                var root = new Node();
                foreach (var (key, value) in labels)
                {
                    var node = root;
                    foreach (var part in key.Split('.'))
                    {
                        node.Children ??= new SortedDictionary<string, Node>(StringComparer.Ordinal);
                        if (!node.Children.TryGetValue(part, out var child))
                        {
                            child = new Node();
                            node.Children.Add(part, child);
                        }

                        node = child;
                    }

                    node.Value = value;
                }

                WriteNode(writer, root);
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNode(Utf8JsonWriter writer, Node node)
    {
        writer.WriteStartObject();
        var valueWritten = false;
        foreach (var (key, child) in node.Children!)
        {
            if (child.Children is null)
            {
                if (key == "value" && node.Value is not null)
                {
                    valueWritten = true; // a real "x.value" label wins over the moved value of "x"
                }

                writer.WriteString(key, child.Value);
            }
            else
            {
                writer.WritePropertyName(key);
                WriteNode(writer, child);
            }
        }

        if (node.Value is not null && node.Children.Count > 0 && !valueWritten)
        {
            writer.WriteString("value", node.Value);
        }

        writer.WriteEndObject();
    }

    private sealed class Node
    {
        public string? Value;
        public SortedDictionary<string, Node>? Children;
    }
}
