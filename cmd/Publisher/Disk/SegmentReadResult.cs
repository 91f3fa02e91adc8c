namespace Shipper.Publisher.Disk;

/// <summary>What <see cref="SegmentReader.Next"/> found.</summary>
public enum SegmentReadResult
{
    /// <summary>A whole record with a matching checksum: its payload is in <see cref="SegmentReader.Payload"/>.</summary>
    Record,

    /// <summary>Damaged bytes (a torn or corrupt record) were skipped: see <see cref="SegmentReader.SkippedFrom"/>.</summary>
    Corrupt,

    /// <summary>Nothing more up to the limit.</summary>
    End,
}
