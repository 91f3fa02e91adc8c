namespace Shipper.Outputs.Elasticsearch;

/// <summary>A write-only stream into a <see cref="BulkBuffer"/>, for the gzip encoder to write into.</summary>
public sealed class BulkBufferStream : Stream
{
    private readonly BulkBuffer _buffer;

    public BulkBufferStream(BulkBuffer buffer) => _buffer = buffer;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _buffer.Length;

    public override long Position
    {
        get => _buffer.Length;
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => _buffer.Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer) => _buffer.Write(buffer);

    public override void WriteByte(byte value) => _buffer.WriteByte(value);
}
