using System.Buffers.Binary;
using System.Text;
using Shipper.Publisher.Disk;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// The documents a disk queue has written to its segment files, read with the queue's own
/// <see cref="SegmentReader"/> while the shipper runs. A test uses it to know that the events it is about to
/// kill the worker over were written (the queue's promise covers those), not merely that the dataset saw them.
/// </summary>
public static class QueuedDocuments
{
    /// <summary>Every whole record's document in <paramref name="directory"/>, oldest segment first.</summary>
    public static IEnumerable<string> Read(string directory)
    {
        if (!Directory.Exists(directory))
        {
            yield break;
        }

        foreach (var id in QueueDirectory.ListSegments(directory))
        {
            var documents = new List<string>();
            try
            {
                using var reader = new SegmentReader(QueueDirectory.SegmentPath(directory, id), SegmentHeader.Size);

                // Not final: the segment being written may end in a record still on its way; it is read next time.
                var limit = reader.FileLength;
                SegmentReadResult result;
                while ((result = reader.Next(limit, final: false)) != SegmentReadResult.End)
                {
                    if (result == SegmentReadResult.Record && DocumentOf(reader.Payload) is { } document)
                    {
                        documents.Add(document);
                    }
                }
            }
            catch (FileNotFoundException)
            {
                // Deleted meanwhile (acknowledged): nothing of it is queued any more.
            }

            foreach (var document in documents)
            {
                yield return document;
            }
        }
    }

    /// <summary>
    /// The compact JSON document at the end of a record payload (RecordCodec's layout: version, kind, ticks,
    /// module, dataset, action, and the id or 0xFFFF, each string with a 16-bit length).
    /// </summary>
    private static string? DocumentOf(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 10)
        {
            return null;
        }

        var rest = payload[10..];
        for (var field = 0; field < 4; field++)
        {
            if (rest.Length < 2)
            {
                return null;
            }

            var length = BinaryPrimitives.ReadUInt16LittleEndian(rest);
            if (field == 3 && length == ushort.MaxValue)
            {
                rest = rest[2..];
                break;
            }

            if (rest.Length < 2 + length)
            {
                return null;
            }

            rest = rest[(2 + length)..];
        }

        return rest.Length > 0 && rest[0] == (byte)'{' ? Encoding.UTF8.GetString(rest) : null;
    }
}
