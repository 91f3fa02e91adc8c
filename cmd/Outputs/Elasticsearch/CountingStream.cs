namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// The socket stream under HTTP and TLS, counting what really crosses the wire
/// (<c>output.write.bytes</c>, <c>output.read.bytes</c>) and socket errors.
/// </summary>
public sealed class CountingStream : Stream
{
    private readonly Stream _inner;
    private readonly OutputMetrics? _metrics;

    public CountingStream(Stream inner, OutputMetrics? metrics)
    {
        _inner = inner;
        _metrics = metrics;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        try
        {
            var n = _inner.Read(buffer);
            _metrics?.ReadBytes.Add(n);
            return n;
        }
        catch (IOException)
        {
            _metrics?.ReadErrors.Increment();
            throw;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            var n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _metrics?.ReadBytes.Add(n);
            return n;
        }
        catch (IOException)
        {
            _metrics?.ReadErrors.Increment();
            throw;
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try
        {
            _inner.Write(buffer);
            _metrics?.WriteBytes.Add(buffer.Length);
        }
        catch (IOException)
        {
            _metrics?.WriteErrors.Increment();
            throw;
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            _metrics?.WriteBytes.Add(buffer.Length);
        }
        catch (IOException)
        {
            _metrics?.WriteErrors.Increment();
            throw;
        }
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => _inner.DisposeAsync();
}
