using Microsoft.Win32.SafeHandles;

namespace Shipper.Publisher.Disk;

/// <summary>
/// Reads the records of one segment file in order, through one reused buffer. Damage never stops it: a record
/// whose checksum fails is skipped whole, and bytes that do not frame a record (a torn write, an overwritten
/// length) are skipped up to the next place a well-framed record starts. Each skip is one
/// <see cref="SegmentReadResult.Corrupt"/> result, so the caller counts and logs it. Not thread-safe.
/// </summary>
public sealed class SegmentReader : IDisposable
{
    private const int ChunkSize = 256 * 1024;

    private readonly SafeFileHandle _file;
    private byte[] _buffer = new byte[ChunkSize];
    private long _bufferStart;
    private int _bufferLength;
    private int _payloadOffset;
    private int _payloadLength;

    public SegmentReader(string path, long start)
    {
        Path = path;
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Position = start;
    }

    public string Path { get; }

    /// <summary>The offset of the first byte not yet read; after a record, the end of that record.</summary>
    public long Position { get; private set; }

    /// <summary>Where the bytes skipped by the last <see cref="SegmentReadResult.Corrupt"/> result began.</summary>
    public long SkippedFrom { get; private set; }

    /// <summary>The payload of the last record read; valid until the next call.</summary>
    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(_payloadOffset, _payloadLength);

    public long FileLength => RandomAccess.GetLength(_file);

    /// <summary>
    /// Reads the next record that ends at or before <paramref name="limit"/>. With <paramref name="final"/> the
    /// limit is the end of the file and anything short of a whole record there is damage; without it (the
    /// segment being written) the limit always falls between records.
    /// </summary>
    public SegmentReadResult Next(long limit, bool final)
    {
        var available = limit - Position;
        if (available <= 0)
        {
            return SegmentReadResult.End;
        }

        var head = Load(Position, (int)Math.Min(available, RecordFrame.HeadSize), limit);
        if (head.Length < RecordFrame.HeadSize)
        {
            return final || head.Length < available ? SkipTo(limit) : SegmentReadResult.End;
        }

        var length = RecordFrame.FramedLength(head);
        if (length < 0)
        {
            return Resync(limit);
        }

        var frameLength = length + RecordFrame.Overhead;
        if (frameLength > available)
        {
            return final ? Resync(limit) : SegmentReadResult.End;
        }

        var frame = Load(Position, frameLength, limit);
        if (frame.Length < frameLength)
        {
            return SkipTo(limit); // the file is shorter than the limit says: cut off under us
        }

        if (RecordFrame.FramedLength(frame) != length)
        {
            return Resync(limit);
        }

        if (!RecordFrame.ChecksumMatches(frame, length))
        {
            SkippedFrom = Position;
            Position += frameLength;
            return SegmentReadResult.Corrupt;
        }

        _payloadOffset = (int)(Position - _bufferStart) + RecordFrame.HeadSize;
        _payloadLength = length;
        Position += frameLength;
        return SegmentReadResult.Record;
    }

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/>, outside the record buffer.</summary>
    public bool TryReadAt(long offset, Span<byte> destination)
    {
        var filled = 0;
        while (filled < destination.Length)
        {
            var read = RandomAccess.Read(_file, destination[filled..], offset + filled);
            if (read == 0)
            {
                return false;
            }

            filled += read;
        }

        return true;
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Skips from the current position to the next offset where a well-framed record starts, or to the limit.</summary>
    private SegmentReadResult Resync(long limit)
    {
        var candidate = Position + 1;
        while (candidate < limit)
        {
            var window = Load(candidate, (int)Math.Min(ChunkSize, limit - candidate), limit);
            if (window.Length == 0)
            {
                break;
            }

            var found = window.IndexOf(RecordFrame.MagicBytes);
            if (found < 0)
            {
                // Keep the last three bytes: the magic may straddle the window's end.
                candidate += Math.Max(1, window.Length - (RecordFrame.MagicBytes.Length - 1));
                continue;
            }

            candidate += found;
            if (StartsRecord(candidate, limit))
            {
                return SkipTo(candidate);
            }

            candidate++;
        }

        return SkipTo(limit);
    }

    private bool StartsRecord(long offset, long limit)
    {
        var head = Load(offset, (int)Math.Min(limit - offset, RecordFrame.HeadSize), limit);
        var length = RecordFrame.FramedLength(head);
        if (length < 0 || offset + length + RecordFrame.Overhead > limit)
        {
            return false;
        }

        var frame = Load(offset, length + RecordFrame.Overhead, limit);
        return frame.Length == length + RecordFrame.Overhead && RecordFrame.FramedLength(frame) == length;
    }

    private SegmentReadResult SkipTo(long offset)
    {
        SkippedFrom = Position;
        Position = offset;
        return SegmentReadResult.Corrupt;
    }

    /// <summary>
    /// The bytes [offset, offset + count) through the buffer, reading from the file when they are not there.
    /// Never reads past <paramref name="limit"/>: beyond it the writer may be halfway through a record. Shorter
    /// than <paramref name="count"/> only when the file ends first.
    /// </summary>
    private ReadOnlySpan<byte> Load(long offset, int count, long limit)
    {
        if (offset >= _bufferStart && offset + count <= _bufferStart + _bufferLength)
        {
            return _buffer.AsSpan((int)(offset - _bufferStart), count);
        }

        if (count > _buffer.Length)
        {
            _buffer = new byte[Math.Max(count, _buffer.Length * 2)];
        }

        var want = (int)Math.Min(_buffer.Length, limit - offset);
        var filled = 0;
        while (filled < want)
        {
            var read = RandomAccess.Read(_file, _buffer.AsSpan(filled, want - filled), offset + filled);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        _bufferStart = offset;
        _bufferLength = filled;
        return _buffer.AsSpan(0, Math.Min(count, filled));
    }
}
