using CsCheck;
using Shipper.Publisher.Disk;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// Property: whatever a crash or a bad disk does to the segment files (cut short anywhere, bytes overwritten
/// anywhere), the queue opens, delivers every record whose bytes are intact exactly once and in order, never
/// delivers a damaged one, and counts the damage in <c>queue.disk.corrupt_records</c>.
/// </summary>
public sealed class SegmentDamageTests : IClassFixture<WrittenQueue>
{
    private readonly WrittenQueue _written;
    private readonly long[] _fileStarts;
    private readonly long _total;

    public SegmentDamageTests(WrittenQueue written)
    {
        _written = written;
        _fileStarts = new long[written.Files.Count];
        for (var i = 0; i < written.Files.Count; i++)
        {
            _fileStarts[i] = _total;
            _total += written.Files[i].Bytes.Length;
        }
    }

    [Fact]
    public void TheWriterSpreadTheEventsOverSeveralSegments()
    {
        Assert.InRange(_written.Files.Count, 5, WrittenQueue.Events);
        Assert.All(_written.Files, f => Assert.InRange(f.Bytes.Length, SegmentHeader.Size, 4096));
    }

    [Fact]
    public async Task IntactRecordsAreDeliveredOnceInOrderAndDamagedOnesAreCountedNeverDelivered()
    {
        var records = _written.Records;

        // Damage anywhere, and often in the places that frame a record: its head and its trailing length.
        var anywhere = Gen.Long[0, _total - 1];
        var nearHead = Gen.Select(Gen.Int[0, records.Count - 1], Gen.Int[-2, RecordFrame.HeadSize + 2], (r, d) => GlobalOffset(records[r].File, records[r].Start + d));
        var nearTail = Gen.Select(Gen.Int[0, records.Count - 1], Gen.Int[1, RecordFrame.TailSize + 2], (r, d) => GlobalOffset(records[r].File, records[r].End - d));
        var spot = Gen.Frequency((2, anywhere), (1, nearHead), (1, nearTail));
        var overwrite = Gen.Select(spot, Gen.Byte.Array[1, 4], (at, bytes) => (At: at, Bytes: bytes));
        var damage = Gen.Select(Gen.Int[0, 2], spot, overwrite.Array[0, 4], (truncate, at, overwrites) => (TruncateAt: truncate == 0 ? at : -1, Overwrites: overwrites));

        await damage.SampleAsync((truncateAt, overwrites) => CheckAsync(truncateAt, overwrites), iter: 120);
    }

    private async Task CheckAsync(long truncateAt, (long At, byte[] Bytes)[] overwrites)
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("queue");
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Copy(System.IO.Path.Combine(_written.Path, QueueStateFile.Name), System.IO.Path.Combine(path, QueueStateFile.Name));

        var contents = _written.Files.Select(f => (byte[])f.Bytes.Clone()).ToArray();
        var lengths = contents.Select(c => (long)c.Length).ToArray();
        foreach (var (at, bytes) in overwrites)
        {
            var (file, offset) = Locate(at);
            for (var i = 0; i < bytes.Length && offset + i < contents[file].Length; i++)
            {
                contents[file][offset + i] = bytes[i];
            }
        }

        if (truncateAt >= 0)
        {
            var (file, offset) = Locate(truncateAt);
            lengths[file] = offset;
        }

        for (var i = 0; i < contents.Length; i++)
        {
            File.WriteAllBytes(System.IO.Path.Combine(path, _written.Files[i].Name), contents[i].AsSpan(0, (int)lengths[i]).ToArray());
        }

        // What a reader can know: a record is intact when all its bytes are there unchanged, gone when none of
        // them are (cut off before its start), and damaged otherwise.
        var intact = new List<int>();
        var damaged = new List<int>();
        for (var r = 0; r < _written.Records.Count; r++)
        {
            var record = _written.Records[r];
            if (lengths[record.File] <= record.Start)
            {
                continue;
            }

            var original = _written.Files[record.File].Bytes.AsSpan((int)record.Start, (int)(record.End - record.Start));
            if (lengths[record.File] >= record.End && original.SequenceEqual(contents[record.File].AsSpan((int)record.Start, original.Length)))
            {
                intact.Add(record.Number);
            }
            else
            {
                damaged.Add(r);
            }
        }

        var adjacent = damaged.Zip(damaged.Skip(1)).Any(p => p.Second == p.First + 1 && _written.Records[p.First].File == _written.Records[p.Second].File);

        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(path));
        var delivered = await queue.DrainAsync();
        var corrupt = queue.Metric("queue.disk.corrupt_records");
        var context = $"intact [{string.Join(",", intact)}], damaged records [{string.Join(",", damaged.Select(r => _written.Records[r].Number))}], corrupt_records {corrupt}, delivered [{string.Join(",", delivered.Select(QueueUnderTest.NumberOf))}]";

        Assert.True(intact.SequenceEqual(delivered.Select(QueueUnderTest.NumberOf)), context);
        foreach (var evt in delivered)
        {
            Assert.Equal(TestDocuments.Expected(TestDocuments.Process(QueueUnderTest.NumberOf(evt))), QueueUnderTest.DocumentOf(evt));
        }

        Assert.True(intact.Count == queue.Queue.Recovered, $"{context}; recovered {queue.Queue.Recovered}");
        if (damaged.Count == 0)
        {
            Assert.True(corrupt == 0, context);
        }
        else if (adjacent)
        {
            Assert.True(corrupt >= 1 && corrupt <= damaged.Count, context);
        }
        else
        {
            Assert.True(corrupt == damaged.Count, context);
        }
    }

    private long GlobalOffset(int file, long offset) => Math.Clamp(_fileStarts[file] + offset, 0, _total - 1);

    private (int File, int Offset) Locate(long global)
    {
        var file = Array.FindLastIndex(_fileStarts, s => s <= global);
        return (file, (int)(global - _fileStarts[file]));
    }
}
