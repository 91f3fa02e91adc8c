namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// A reply body as it arrives (HTTP framing removed, gzip not yet inflated), failing with
/// <see cref="ReplyException"/> once more than its limit has been read. Read-only; one reader at a time.
/// </summary>
internal sealed class CappedReadStream : Stream
{
    private readonly Stream _inner;
    private readonly int _limit;

    public CappedReadStream(Stream inner, int limit)
    {
        _inner = inner;
        _limit = limit;
    }

    /// <summary>Bytes read so far.</summary>
    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        return Count(_inner.Read(buffer[..Window(buffer.Length)]));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await _inner.ReadAsync(buffer[..Window(buffer.Length)], cancellationToken).ConfigureAwait(false);
        return Count(n);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Asks for at most one byte past the limit, so going over is seen without reading on.</summary>
    private int Window(int requested) => (int)Math.Min(requested, Math.Max(1, _limit + 1L - BytesRead));

    private int Count(int n)
    {
        BytesRead += n;
        if (BytesRead > _limit)
        {
            throw new ReplyException($"the reply's body is larger than {_limit} bytes as sent, the most an honest reply to this request has; stopped reading it");
        }

        return n;
    }
}
