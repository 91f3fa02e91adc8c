using System.Buffers;
using System.Buffers.Binary;
using Shipper.Publisher.Disk;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// The reader on segment files framed exactly as the writer frames them (<see cref="RecordCodec"/> and
/// <see cref="RecordFrame"/>), then damaged in the ways a crash or a bad disk damages them.
/// </summary>
public sealed class SegmentReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public SegmentReaderTests()
    {
        _path = _dir.Combine("1.seg");
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void TheFrameIsAsDocumented()
    {
        var records = Write(new[] { 0 });
        var bytes = File.ReadAllBytes(_path);
        var frame = bytes.AsSpan((int)records[0].Start, (int)(records[0].End - records[0].Start));
        var length = frame.Length - RecordFrame.Overhead;
        Assert.Equal("SHQS"u8.ToArray(), bytes[..4]);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(1L, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8)));
        Assert.Equal("SHQR"u8.ToArray(), frame[..4].ToArray());
        Assert.Equal(length, BinaryPrimitives.ReadInt32LittleEndian(frame[4..]));
        Assert.Equal(System.IO.Hashing.Crc32.HashToUInt32(frame.Slice(RecordFrame.HeadSize, length)), BinaryPrimitives.ReadUInt32LittleEndian(frame[8..]));
        Assert.Equal(length, BinaryPrimitives.ReadInt32LittleEndian(frame[^4..]));
    }

    [Fact]
    public void ReadsEveryRecordInOrderThenEnds()
    {
        var records = Write(Enumerable.Range(0, 5));
        using var reader = new SegmentReader(_path, SegmentHeader.Size);
        Assert.Equal(Enumerable.Range(0, 5), ReadAll(reader, records));
        Assert.Equal(new FileInfo(_path).Length, reader.Position);
    }

    [Fact]
    public void ARecordWithABadChecksumIsSkippedWholeAsOneCorruptResult()
    {
        var records = Write(Enumerable.Range(0, 5));
        Damage(records[2].Start + RecordFrame.HeadSize + 40);
        using var reader = new SegmentReader(_path, SegmentHeader.Size);
        var limit = reader.FileLength;

        ExpectRecords(reader, limit, 0, 1);
        Assert.Equal(SegmentReadResult.Corrupt, reader.Next(limit, final: true));
        Assert.Equal(records[2].Start, reader.SkippedFrom);
        Assert.Equal(records[2].End, reader.Position);
        ExpectRecords(reader, limit, 3, 4);
        Assert.Equal(SegmentReadResult.End, reader.Next(limit, final: true));
    }

    [Theory]
    [InlineData(0)] // the magic
    [InlineData(5)] // the length
    [InlineData(-2)] // the trailing length
    public void ABrokenFrameIsSkippedUpToTheNextRecord(int at)
    {
        var records = Write(Enumerable.Range(0, 4));
        Damage(at >= 0 ? records[1].Start + at : records[1].End + at);
        using var reader = new SegmentReader(_path, SegmentHeader.Size);
        var limit = reader.FileLength;

        ExpectRecords(reader, limit, 0);
        Assert.Equal(SegmentReadResult.Corrupt, reader.Next(limit, final: true));
        Assert.Equal(records[1].Start, reader.SkippedFrom);
        Assert.Equal(records[2].Start, reader.Position);
        ExpectRecords(reader, limit, 2, 3);
        Assert.Equal(SegmentReadResult.End, reader.Next(limit, final: true));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(RecordFrame.HeadSize - 1)]
    [InlineData(RecordFrame.HeadSize)]
    [InlineData(RecordFrame.HeadSize + 100)]
    [InlineData(-1)]
    public void ATornTailIsOneCorruptStretchToTheEnd(int keep)
    {
        var records = Write(Enumerable.Range(0, 3));
        var last = records[^1];
        using (var file = File.OpenHandle(_path, FileMode.Open, FileAccess.Write))
        {
            RandomAccess.SetLength(file, keep >= 0 ? last.Start + keep : last.End + keep);
        }

        using var reader = new SegmentReader(_path, SegmentHeader.Size);
        var limit = reader.FileLength;
        ExpectRecords(reader, limit, 0, 1);
        Assert.Equal(SegmentReadResult.Corrupt, reader.Next(limit, final: true));
        Assert.Equal(last.Start, reader.SkippedFrom);
        Assert.Equal(limit, reader.Position);
        Assert.Equal(SegmentReadResult.End, reader.Next(limit, final: true));
    }

    [Theory]
    [InlineData(3)] // a few stray bytes: the next record is right behind them
    [InlineData(600 * 1024)] // more than the read buffer: the search for the next record crosses refills
    public void GarbageBetweenRecordsIsOneCorruptStretch(int size)
    {
        var garbage = new byte[size];
        new Random(7).NextBytes(garbage);
        garbage.AsSpan().Replace((byte)'S', (byte)'s');
        var records = Write(Enumerable.Range(0, 4), insertBefore: 2, insert: garbage);
        using var reader = new SegmentReader(_path, SegmentHeader.Size);
        var limit = reader.FileLength;

        ExpectRecords(reader, limit, 0, 1);
        Assert.Equal(SegmentReadResult.Corrupt, reader.Next(limit, final: true));
        Assert.Equal(records[1].End, reader.SkippedFrom);
        Assert.Equal(records[2].Start, reader.Position);
        ExpectRecords(reader, limit, 2, 3);
    }

    [Fact]
    public void AMagicInsideAPayloadIsNotTakenForARecord()
    {
        // A document may contain "SHQR"; only a place where a whole frame fits counts as the next record.
        var records = Write(new[] { 0, 1, 2 }, text: "SHQR SHQR");
        Damage(records[0].Start); // resync must search from inside record 0, past the magic in its payload
        using var reader = new SegmentReader(_path, SegmentHeader.Size);
        var limit = reader.FileLength;

        Assert.Equal(SegmentReadResult.Corrupt, reader.Next(limit, final: true));
        Assert.Equal(records[1].Start, reader.Position);
        ExpectRecords(reader, limit, 1, 2);
    }

    [Fact]
    public void ARecordLargerThanTheReadBufferIsReadWhole()
    {
        var records = Write(new[] { 0, 1, 2 }, text: new string('x', 700 * 1024));
        Assert.True(records[1].End - records[1].Start > 2 * 256 * 1024);
        using var reader = new SegmentReader(_path, SegmentHeader.Size);
        Assert.Equal(new[] { 0, 1, 2 }, ReadAll(reader, records));
    }

    [Fact]
    public void TheSegmentBeingWrittenIsReadUpToTheLimitAndNoFurther()
    {
        var records = Write(Enumerable.Range(0, 4));
        using var reader = new SegmentReader(_path, SegmentHeader.Size);

        // The writer has published two records so far; more bytes may already be in the file.
        Assert.Equal(SegmentReadResult.Record, reader.Next(records[1].End, final: false));
        Assert.Equal(SegmentReadResult.Record, reader.Next(records[1].End, final: false));
        Assert.Equal(SegmentReadResult.End, reader.Next(records[1].End, final: false));
        Assert.Equal(records[1].End, reader.Position);

        Assert.Equal(SegmentReadResult.Record, reader.Next(records[3].End, final: false));
        Assert.Equal(2, Number(reader));
        Assert.Equal(SegmentReadResult.Record, reader.Next(records[3].End, final: false));
        Assert.Equal(3, Number(reader));
        Assert.Equal(SegmentReadResult.End, reader.Next(records[3].End, final: false));
    }

    [Fact]
    public void StartsAtTheGivenOffset()
    {
        var records = Write(Enumerable.Range(0, 4));
        using var reader = new SegmentReader(_path, records[2].Start);
        Assert.Equal(new[] { 2, 3 }, ReadAll(reader, records));
    }

    private static int Number(SegmentReader reader)
    {
        Assert.True(new RecordCodec(TestDocuments.Writer).TryDecode(reader.Payload, 0, out var evt));
        return QueueUnderTest.NumberOf(evt!);
    }

    private static List<int> ReadAll(SegmentReader reader, List<(long Start, long End)> records)
    {
        var numbers = new List<int>();
        var limit = reader.FileLength;
        SegmentReadResult result;
        while ((result = reader.Next(limit, final: true)) != SegmentReadResult.End)
        {
            Assert.Equal(SegmentReadResult.Record, result);
            Assert.Contains(records, r => r.End == reader.Position);
            numbers.Add(Number(reader));
        }

        return numbers;
    }

    private static void ExpectRecords(SegmentReader reader, long limit, params int[] numbers)
    {
        foreach (var number in numbers)
        {
            Assert.Equal(SegmentReadResult.Record, reader.Next(limit, final: true));
            Assert.Equal(number, Number(reader));
        }
    }

    /// <summary>Writes a segment of the given events as the writer does; returns where each record lies.</summary>
    private List<(long Start, long End)> Write(IEnumerable<int> numbers, int insertBefore = -1, byte[]? insert = null, string? text = null)
    {
        var codec = new RecordCodec(TestDocuments.Writer);
        var buffer = new ArrayBufferWriter<byte>();
        SegmentHeader.Write(buffer.GetSpan(SegmentHeader.Size), 1);
        buffer.Advance(SegmentHeader.Size);
        var records = new List<(long Start, long End)>();
        var index = 0;
        foreach (var number in numbers)
        {
            if (index++ == insertBefore && insert is not null)
            {
                buffer.Write(insert);
            }

            var start = buffer.WrittenCount;
            var evt = TestDocuments.Process(number, pid: text);
            codec.Append(buffer, evt);
            records.Add((start, buffer.WrittenCount));
        }

        File.WriteAllBytes(_path, buffer.WrittenSpan.ToArray());
        return records;
    }

    /// <summary>Flips every bit of one byte.</summary>
    private void Damage(long offset)
    {
        using var file = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite);
        Span<byte> one = stackalloc byte[1];
        RandomAccess.Read(file, one, offset);
        one[0] ^= 0xff;
        RandomAccess.Write(file, one, offset);
    }
}
