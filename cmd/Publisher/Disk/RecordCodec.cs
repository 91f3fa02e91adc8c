using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Shipper.Events;
using Shipper.Module.Registry;

namespace Shipper.Publisher.Disk;

/// <summary>
/// An event as a record payload: the fields outputs route by (time, kind, module, dataset, action, id) and the
/// complete document as compact JSON, without <c>@metadata</c> (format 2). Format 1 records, written by
/// releases that stored <c>@metadata</c> in the document, are still read: their <c>@metadata</c> is cut out
/// as they are decoded, so no output ever sees a stored one. Not thread-safe: the writer loop owns one for
/// encoding, the reader loop one for decoding.
/// </summary>
public sealed class RecordCodec
{
    private const byte FormatVersion = 2;

    /// <summary>Documents stored whole, <c>@metadata</c> included (releases before format 2).</summary>
    private const byte FormatVersionWithMetadata = 1;
    private const ushort NoId = ushort.MaxValue;

    /// <summary>
    /// Decoded documents are copied side by side into slabs of this size (under the large-object heap's 85,000
    /// bytes): one uninitialised allocation per 25 or so documents instead of a zeroed array for each.
    /// </summary>
    private const int SlabSize = 32 * 1024;

    private readonly DocumentWriter _documents;
    private readonly Utf8JsonWriter _json;
    private readonly List<(byte[] Utf8, string Text)> _strings = new();
    private byte[] _slab = Array.Empty<byte>();
    private int _slabUsed;

    public RecordCodec(DocumentWriter documents)
    {
        _documents = documents;
        // The writer is pointed at the caller's buffer for every record; until then it has a throwaway one.
        _json = new Utf8JsonWriter(new ArrayBufferWriter<byte>(1), new JsonWriterOptions
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            SkipValidation = true,
        });
    }

    /// <summary>
    /// Appends one framed record for <paramref name="evt"/> to <paramref name="buffer"/>; returns its size. The
    /// document is encoded in place, so when encoding throws part of a record is already in the buffer: the
    /// caller keeps only the bytes written before the call.
    /// </summary>
    public int Append(ArrayBufferWriter<byte> buffer, Event evt)
    {
        var start = buffer.WrittenCount;
        var id = evt.Id;
        var fieldsLength = 1 + 1 + 8
            + 2 + Encoding.UTF8.GetByteCount(evt.Module)
            + 2 + Encoding.UTF8.GetByteCount(evt.Dataset)
            + 2 + Encoding.UTF8.GetByteCount(evt.Action)
            + 2 + (id is null ? 0 : Encoding.UTF8.GetByteCount(id));
        var p = buffer.GetSpan(RecordFrame.HeadSize + fieldsLength)[RecordFrame.HeadSize..];
        p[0] = FormatVersion;
        p[1] = (byte)evt.Kind;
        var utc = evt.Timestamp.Kind == DateTimeKind.Local ? evt.Timestamp.ToUniversalTime() : evt.Timestamp;
        BinaryPrimitives.WriteInt64LittleEndian(p[2..], utc.Ticks);
        p = p[10..];
        p = WriteString(p, evt.Module);
        p = WriteString(p, evt.Dataset);
        p = WriteString(p, evt.Action);
        if (id is null)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(p, NoId);
        }
        else
        {
            WriteString(p, id);
        }

        buffer.Advance(RecordFrame.HeadSize + fieldsLength);

        // The document is encoded straight into the record (about 1.2 KB per process event), not into a scratch
        // buffer and copied: the head's length and checksum are filled in once it is there.
        _json.Reset(buffer);
        _documents.Write(_json, evt);
        _json.Flush();
        buffer.GetSpan(RecordFrame.TailSize);
        buffer.Advance(RecordFrame.TailSize);

        // WrittenMemory is read-only only to callers that do not own the buffer; the bytes are this record's.
        var frameLength = buffer.WrittenCount - start;
        RecordFrame.Seal(MemoryMarshal.AsMemory(buffer.WrittenMemory).Span.Slice(start, frameLength));
        return frameLength;
    }

    /// <summary>Rebuilds the event from a payload; false when the payload does not parse (counted as corrupt).</summary>
    public bool TryDecode(ReadOnlySpan<byte> payload, long sequence, out Event? evt)
    {
        evt = null;
        if (payload.Length < 10 || payload[0] is not (FormatVersion or FormatVersionWithMetadata) || payload[1] > (byte)EventKind.State)
        {
            return false;
        }

        var kind = (EventKind)payload[1];
        var ticks = BinaryPrimitives.ReadInt64LittleEndian(payload[2..]);
        if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks)
        {
            return false;
        }

        var rest = payload[10..];
        if (!TryReadString(ref rest, out var module) || !TryReadString(ref rest, out var dataset) || !TryReadString(ref rest, out var action))
        {
            return false;
        }

        string? id = null;
        if (rest.Length < 2)
        {
            return false;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(rest) == NoId)
        {
            rest = rest[2..];
        }
        else if (!TryReadString(ref rest, out id, intern: false))
        {
            return false;
        }

        if (rest.Length < 2 || rest[0] != (byte)'{' || rest[^1] != (byte)'}')
        {
            return false;
        }

        var (cutFrom, cutTo) = (rest.Length, rest.Length);
        if (payload[0] == FormatVersionWithMetadata && !TryFindMetadata(rest, out cutFrom, out cutTo))
        {
            return false;
        }

        evt = new Event
        {
            Timestamp = new DateTime(ticks, DateTimeKind.Utc),
            Kind = kind,
            Module = module!,
            Dataset = dataset!,
            Action = action!,
            Id = id,
            // The document carries category and type; the event object no longer needs them.
            Categories = Array.Empty<string>(),
            Types = Array.Empty<string>(),
            Body = new EncodedDocument(Keep(rest[..cutFrom], rest[cutTo..]), sequence),
        };
        return true;
    }

    /// <summary>
    /// Where a format 1 document's <c>@metadata</c> property is, with the comma that joins it to its neighbours:
    /// the bytes from <paramref name="from"/> to <paramref name="to"/> are to be left out. Those documents put it
    /// second, after <c>@timestamp</c>, so the scan stops after two properties; a document without one keeps all
    /// its bytes. False when the document does not parse as far as that.
    /// </summary>
    private static bool TryFindMetadata(ReadOnlySpan<byte> json, out int from, out int to)
    {
        from = to = json.Length;
        var reader = new Utf8JsonReader(json);
        try
        {
            reader.Read(); // the document's '{'
            var previousEnd = (int)reader.BytesConsumed;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var nameStart = (int)reader.TokenStartIndex;
                var isMetadata = reader.ValueTextEquals("@metadata"u8);
                reader.Skip();
                var valueEnd = (int)reader.BytesConsumed;
                if (isMetadata)
                {
                    // After another property: cut from the comma before it. First: cut through the comma after it.
                    from = previousEnd == 1 ? nameStart : previousEnd;
                    to = previousEnd == 1 && valueEnd < json.Length && json[valueEnd] == (byte)',' ? valueEnd + 1 : valueEnd;
                    return true;
                }

                previousEnd = valueEnd;
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// A copy of <paramref name="json"/> followed by <paramref name="more"/>, that outlives the reader's buffer.
    /// A slab is never written again once handed out, so a document stays valid for as long as anything holds it
    /// (the GC frees the slab after).
    /// </summary>
    private ReadOnlyMemory<byte> Keep(ReadOnlySpan<byte> json, ReadOnlySpan<byte> more)
    {
        var length = json.Length + more.Length;
        if (length > SlabSize / 4)
        {
            var own = GC.AllocateUninitializedArray<byte>(length);
            json.CopyTo(own);
            more.CopyTo(own.AsSpan(json.Length));
            return own;
        }

        if (_slab.Length - _slabUsed < length)
        {
            _slab = GC.AllocateUninitializedArray<byte>(SlabSize);
            _slabUsed = 0;
        }

        json.CopyTo(_slab.AsSpan(_slabUsed));
        more.CopyTo(_slab.AsSpan(_slabUsed + json.Length));
        var kept = new ReadOnlyMemory<byte>(_slab, _slabUsed, length);
        _slabUsed += length;
        return kept;
    }

    private static Span<byte> WriteString(Span<byte> destination, string value)
    {
        var written = Encoding.UTF8.GetBytes(value, destination[2..]);
        BinaryPrimitives.WriteUInt16LittleEndian(destination, checked((ushort)written));
        return destination[(2 + written)..];
    }

    private bool TryReadString(ref ReadOnlySpan<byte> source, out string? value, bool intern = true)
    {
        value = null;
        if (source.Length < 2)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16LittleEndian(source);
        if (length == NoId || source.Length < 2 + length)
        {
            return false;
        }

        var utf8 = source.Slice(2, length);
        source = source[(2 + length)..];
        if (!intern)
        {
            value = Encoding.UTF8.GetString(utf8);
            return true;
        }

        // Module, dataset and action come from a handful of values: one string each, not one per event.
        foreach (var (bytes, text) in _strings)
        {
            if (utf8.SequenceEqual(bytes))
            {
                value = text;
                return true;
            }
        }

        value = Encoding.UTF8.GetString(utf8);
        if (_strings.Count < 64)
        {
            _strings.Add((utf8.ToArray(), value));
        }

        return true;
    }
}
