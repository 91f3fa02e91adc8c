using System.Buffers.Binary;
using System.IO.Hashing;

namespace Shipper.Publisher.Disk;

/// <summary>
/// How one event sits in a segment file: magic, payload length, CRC-32 of the payload, the payload, and the
/// length once more (all little-endian). The magic lets a reader find the next record after damage; the
/// trailing length tells a whole record from one torn by a crash mid-write.
/// </summary>
public static class RecordFrame
{
    /// <summary>"SHQR" in file order.</summary>
    public const uint Magic = 0x52514853;

    public const int HeadSize = 12;

    public const int TailSize = 4;

    public const int Overhead = HeadSize + TailSize;

    /// <summary>Larger lengths are damage, not records: no document comes near it.</summary>
    public const int MaxPayload = 64 * 1024 * 1024;

    public static ReadOnlySpan<byte> MagicBytes => "SHQR"u8;

    /// <summary>Fills in the head and tail around a payload already written at <c>frame[HeadSize..^TailSize]</c>.</summary>
    public static void Seal(Span<byte> frame)
    {
        var length = frame.Length - Overhead;
        var payload = frame.Slice(HeadSize, length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(frame[4..], length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[8..], Crc32.HashToUInt32(payload));
        BinaryPrimitives.WriteInt32LittleEndian(frame[^TailSize..], length);
    }

    /// <summary>
    /// The payload length when <paramref name="available"/> starts a well-framed record (magic, plausible length,
    /// and — when the bytes reach that far — a matching trailing length); -1 otherwise.
    /// </summary>
    public static int FramedLength(ReadOnlySpan<byte> available)
    {
        if (available.Length < HeadSize || BinaryPrimitives.ReadUInt32LittleEndian(available) != Magic)
        {
            return -1;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(available[4..]);
        if (length < 0 || length > MaxPayload)
        {
            return -1;
        }

        if (available.Length >= length + Overhead && BinaryPrimitives.ReadInt32LittleEndian(available[(HeadSize + length)..]) != length)
        {
            return -1;
        }

        return length;
    }

    public static bool ChecksumMatches(ReadOnlySpan<byte> frame, int length) =>
        Crc32.HashToUInt32(frame.Slice(HeadSize, length)) == BinaryPrimitives.ReadUInt32LittleEndian(frame[8..]);
}
