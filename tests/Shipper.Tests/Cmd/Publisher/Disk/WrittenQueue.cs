using System.Buffers.Binary;
using Shipper.Publisher.Disk;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// A queue directory the real writer filled (events 0 to <see cref="Events"/>-1, 4 KiB segments, nothing
/// acknowledged), and where each record lies in it, found by walking the frames. Built once per test class;
/// tests damage copies of it.
/// </summary>
public sealed class WrittenQueue : IDisposable
{
    public const int Events = 40;

    private readonly TempDirectory _dir = new();

    public WrittenQueue()
    {
        Path = _dir.Combine("queue");
        Task.Run(WriteAsync).GetAwaiter().GetResult();
        foreach (var file in Directory.GetFiles(Path, "*" + QueueDirectory.SegmentSuffix).OrderBy(IdOf))
        {
            var bytes = File.ReadAllBytes(file);
            var name = System.IO.Path.GetFileName(file);
            Files.Add((name, bytes));
            long offset = SegmentHeader.Size;
            while (offset < bytes.Length)
            {
                var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)offset + 4));
                var end = offset + length + RecordFrame.Overhead;
                Assert.True(new RecordCodec(TestDocuments.Writer).TryDecode(bytes.AsSpan((int)offset + RecordFrame.HeadSize, length), 0, out var evt));
                Records.Add(new Extent(Files.Count - 1, offset, end, QueueUnderTest.NumberOf(evt!)));
                offset = end;
            }

            Assert.Equal(bytes.Length, offset);
        }

        Assert.Equal(Enumerable.Range(0, Events), Records.Select(r => r.Number));
    }

    public string Path { get; }

    /// <summary>The segment files, oldest first: name and content.</summary>
    public List<(string Name, byte[] Bytes)> Files { get; } = new();

    public List<Extent> Records { get; } = new();

    public void Dispose() => _dir.Dispose();

    private static long IdOf(string file) => long.Parse(System.IO.Path.GetFileNameWithoutExtension(file), System.Globalization.CultureInfo.InvariantCulture);

    private async Task WriteAsync()
    {
        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(Path));
        await queue.AddAsync(Enumerable.Range(0, Events));
        Assert.Equal(Events, (await queue.DrainAsync()).Count);
    }

    /// <summary>One record: which file (index into <see cref="Files"/>), its bytes [Start, End), its event.</summary>
    public readonly record struct Extent(int File, long Start, long End, int Number);
}
