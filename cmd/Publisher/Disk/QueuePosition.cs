namespace Shipper.Publisher.Disk;

/// <summary>A place in the queue: a segment and a byte offset in it.</summary>
public readonly record struct QueuePosition(long Segment, long Offset);
