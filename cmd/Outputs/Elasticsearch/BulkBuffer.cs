using System.Buffers;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// A request body built in 64 KiB segments rented from the shared pool, so a large bulk request never needs
/// one big contiguous array (and never lands on the large object heap). Not thread-safe.
/// </summary>
public sealed class BulkBuffer : IBufferWriter<byte>, IDisposable
{
    private const int SegmentSize = 64 * 1024;
    private readonly List<byte[]> _segments = new();
    private readonly List<int> _segmentLengths = new();
    private int _lastUsed;
    private long _completed;

    /// <summary>Bytes written so far.</summary>
    public long Length => _completed + _lastUsed;

    public void Advance(int count)
    {
        if (count < 0 || _segments.Count == 0 || _lastUsed + count > _segments[^1].Length)
        {
            throw new InvalidOperationException("advanced past the end of the buffer");
        }

        _lastUsed += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureSpace(sizeHint);
        return _segments[^1].AsMemory(_lastUsed);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureSpace(sizeHint);
        return _segments[^1].AsSpan(_lastUsed);
    }

    /// <summary>Copies bytes in, spilling over segment boundaries.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var span = GetSpan(1);
            var n = Math.Min(span.Length, data.Length);
            data[..n].CopyTo(span);
            _lastUsed += n;
            data = data[n..];
        }
    }

    public void WriteByte(byte value)
    {
        GetSpan(1)[0] = value;
        _lastUsed++;
    }

    public async Task CopyToAsync(Stream destination, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _segments.Count; i++)
        {
            var used = i == _segments.Count - 1 ? _lastUsed : SegmentLength(i);
            await destination.WriteAsync(_segments[i].AsMemory(0, used), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The whole content as one array (tests and diagnostics only).</summary>
    public byte[] ToArray()
    {
        var result = new byte[Length];
        var offset = 0;
        for (var i = 0; i < _segments.Count; i++)
        {
            var used = i == _segments.Count - 1 ? _lastUsed : SegmentLength(i);
            _segments[i].AsSpan(0, used).CopyTo(result.AsSpan(offset));
            offset += used;
        }

        return result;
    }

    /// <summary>Empties the buffer and gives the segments back to the pool.</summary>
    public void Reset()
    {
        foreach (var segment in _segments)
        {
            ArrayPool<byte>.Shared.Return(segment);
        }

        _segments.Clear();
        _segmentLengths.Clear();
        _lastUsed = 0;
        _completed = 0;
    }

    public void Dispose() => Reset();

    private int SegmentLength(int index) => _segmentLengths[index];

    private void EnsureSpace(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_segments.Count > 0 && _segments[^1].Length - _lastUsed >= needed)
        {
            return;
        }

        if (_segments.Count > 0)
        {
            _segmentLengths.Add(_lastUsed);
            _completed += _lastUsed;
        }

        _segments.Add(ArrayPool<byte>.Shared.Rent(Math.Max(SegmentSize, needed)));
        _lastUsed = 0;
    }
}
