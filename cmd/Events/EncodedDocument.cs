using System.Text.Json;
using Shipper.Module.Registry;

namespace Shipper.Events;

/// <summary>
/// A complete document encoded earlier (envelope included, <c>@metadata</c> not), as the disk queue stores it:
/// written as it is, because its agent and host fields are those of the run that observed the event. <see cref="Sequence"/> is
/// the queue's number for it, to match acknowledgements to positions on disk.
/// </summary>
public sealed class EncodedDocument : IEventBody
{
    public EncodedDocument(ReadOnlyMemory<byte> json, long sequence)
    {
        Json = json;
        Sequence = sequence;
    }

    /// <summary>One compact JSON object, written with relaxed escaping.</summary>
    public ReadOnlyMemory<byte> Json { get; }

    public long Sequence { get; }

    /// <summary>The encoded bytes and the object around them.</summary>
    public long EstimatedBytes => 64 + Json.Length;

    public void WriteFields(Utf8JsonWriter writer) =>
        throw new InvalidOperationException("an encoded document is written whole by DocumentWriter, never as fields");
}
