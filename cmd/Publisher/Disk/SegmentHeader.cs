using System.Buffers.Binary;

namespace Shipper.Publisher.Disk;

/// <summary>The first bytes of every segment file: "SHQS", format version, segment id.</summary>
public static class SegmentHeader
{
    public const int Size = 16;

    public const uint Version = 1;

    private const uint Magic = 0x53514853; // "SHQS"

    public static void Write(Span<byte> header, long id)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], id);
    }

    public static bool IsValid(ReadOnlySpan<byte> header, long id) =>
        header.Length >= Size
        && BinaryPrimitives.ReadUInt32LittleEndian(header) == Magic
        && BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) == Version
        && BinaryPrimitives.ReadInt64LittleEndian(header[8..]) == id;
}
