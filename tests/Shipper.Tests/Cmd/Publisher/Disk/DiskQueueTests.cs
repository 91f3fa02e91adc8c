using System.Buffers;
using Shipper.Config;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Publisher;
using Shipper.Publisher.Disk;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Cmd.Watchdog;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>The disk queue on real directories and files: what it keeps, what it frees, what it refuses.</summary>
public sealed class DiskQueueTests : IDisposable
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;
    private const long MiB = 1024 * 1024;

    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public DiskQueueTests()
    {
        _path = _dir.Combine("queue");
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task EventsComeBackWithTheDocumentsTheyWentInWith()
    {
        var originals = Enumerable.Range(0, 300).Select(i => TestDocuments.Process(i)).ToList();
        originals.Add(new Event
        {
            Timestamp = new DateTime(2025, 3, 4, 5, 6, 7, 890, DateTimeKind.Utc),
            Kind = EventKind.State,
            Module = "system",
            Dataset = "process",
            Action = "existing_process",
            Id = "6f1c3c1e-0d6b-4f0e-9a1f-3a0b4c5d6e7f",
            Categories = new[] { "process" },
            Types = new[] { "info" },
            Body = TestDocuments.Process(300, pid: "\u00fcn\u00efc\u00f6d\u00e9 \"quoted\" \\ </script> \U0001F600").Body,
        });

        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(_path));
        foreach (var evt in originals)
        {
            await queue.Queue.AddAsync(evt, CancellationToken.None);
        }

        var back = await queue.DrainAsync();
        Assert.Equal(originals.Select(TestDocuments.Expected), back.Select(TestDocuments.Expected));
        for (var i = 0; i < originals.Count; i++)
        {
            // What the outputs route by travels beside the document.
            Assert.Equal(originals[i].Timestamp, back[i].Timestamp);
            Assert.Equal(originals[i].Kind, back[i].Kind);
            Assert.Equal(originals[i].Module, back[i].Module);
            Assert.Equal(originals[i].Dataset, back[i].Dataset);
            Assert.Equal(originals[i].Action, back[i].Action);
            Assert.Equal(originals[i].Id, back[i].Id);
        }

        Assert.Equal(originals.Count, queue.Metric("queue.added.events"));
        Assert.Equal(originals.Count, queue.Metric("queue.consumed.events"));
        Assert.Equal(originals.Count, queue.Metric("queue.filled.events"));
        Assert.Equal(0, queue.Metric("queue.disk.corrupt_records"));
        Assert.True(queue.Metric("queue.disk.segments") > 10, "4 KiB segments should have rolled many times");
        Assert.True(queue.Metric("queue.disk.fsyncs") >= 1);
    }

    [Fact]
    public async Task ARestartResumesAfterWhatWasAcknowledged()
    {
        var settings = QueueUnderTest.Settings(_path);
        await using (var first = new QueueUnderTest(settings))
        {
            await first.AddAsync(Enumerable.Range(0, 100));
            var read = await first.ReadAsync(100);

            // Out of order, as several output workers acknowledge: the later part of the first half first.
            first.Queue.Done(read.GetRange(25, 25), Array.Empty<Event>());
            first.Queue.Done(read.GetRange(0, 25), Array.Empty<Event>());
            Assert.Equal(50, first.Queue.Count);
            Assert.Equal(50, first.Metric("queue.removed.events"));
        }

        await using var second = new QueueUnderTest(settings);
        Assert.Equal(50, second.Queue.Recovered);
        Assert.Equal(50, second.Metric("queue.disk.recovered.events"));
        Assert.Equal(50, second.Metric("queue.filled.events"));
        var back = await second.DrainAsync();
        Assert.Equal(Enumerable.Range(50, 50), back.Select(QueueUnderTest.NumberOf));
        Assert.Contains(second.Log.Lines, l => l.Contains("50 events from earlier runs to send"));
    }

    [Fact]
    public async Task EventsHandedBackForRetryAreNotAcknowledged()
    {
        var settings = QueueUnderTest.Settings(_path);
        await using (var first = new QueueUnderTest(settings))
        {
            await first.AddAsync(Enumerable.Range(0, 60));
            var read = await first.ReadAsync(60);
            first.Queue.Done(read.GetRange(0, 50), read.GetRange(10, 5));
            first.Queue.Done(read, read); // everything handed back: nothing changes
            Assert.Equal(15, first.Queue.Count);
        }

        // The frontier stopped at the first event handed back: 10 and everything after it comes again.
        await using var second = new QueueUnderTest(settings);
        Assert.Equal(50, second.Queue.Recovered);
        Assert.Equal(Enumerable.Range(10, 50), (await second.DrainAsync()).Select(QueueUnderTest.NumberOf));
    }

    /// <summary>
    /// At shutdown the publisher leaves behind an output worker that does not stop when cancelled; it may still
    /// report back after the queue is disposed. That must not throw, and the next start sends those events again.
    /// </summary>
    [Fact]
    public async Task AnAcknowledgementAfterDisposeIsIgnored()
    {
        var settings = QueueUnderTest.Settings(_path);
        List<Event> read;
        await using (var first = new QueueUnderTest(settings))
        {
            await first.AddAsync(Enumerable.Range(0, 10));
            read = await first.ReadAsync(10);
            await first.DisposeAsync();
            first.Queue.Done(read, Array.Empty<Event>());
        }

        await using var second = new QueueUnderTest(settings);
        Assert.Equal(Enumerable.Range(0, 10), (await second.DrainAsync()).Select(QueueUnderTest.NumberOf));
    }

    [Fact]
    public async Task SegmentsAreDeletedOnceEverythingInThemIsAcknowledged()
    {
        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(_path));
        await queue.AddAsync(Enumerable.Range(0, 100));
        var read = await queue.ReadAsync(100);
        var segments = SegmentFiles();
        Assert.True(segments.Length > 10, $"{segments.Length} segments");
        Assert.Equal(segments.Length, queue.Metric("queue.disk.segments"));
        var full = queue.Metric("queue.filled.bytes");
        Assert.Equal(BytesOnDisk(), full);

        queue.Queue.Done(read.GetRange(0, 50), Array.Empty<Event>());
        var half = SegmentFiles();
        Assert.InRange(half.Length, 2, segments.Length - 2);
        Assert.Equal(segments[^half.Length..], half); // the oldest went
        Assert.Equal(half.Length, queue.Metric("queue.disk.segments"));
        Assert.True(queue.Metric("queue.filled.bytes") < full);
        Assert.Equal(BytesOnDisk(), queue.Metric("queue.filled.bytes"));

        queue.Queue.Done(read.GetRange(50, 50), Array.Empty<Event>());
        Assert.Equal(new[] { segments[^1] }, SegmentFiles()); // the one being written stays
        Assert.Equal(BytesOnDisk(), queue.Metric("queue.filled.bytes"));
        Assert.Equal(0, queue.Metric("queue.filled.events"));
        Assert.Equal(100, queue.Metric("queue.removed.events"));
    }

    [Fact]
    public async Task AFullyAcknowledgedQueueRestartsEmptyAndDeletesWhatTheLastRunLeft()
    {
        var settings = QueueUnderTest.Settings(_path);
        await using (var first = new QueueUnderTest(settings))
        {
            await first.AddAsync(Enumerable.Range(0, 50));
            first.Queue.Done(await first.ReadAsync(50), Array.Empty<Event>());
        }

        var left = SegmentFiles();
        Assert.Single(left); // the segment the first run wrote last

        await using var second = new QueueUnderTest(settings);
        Assert.Equal(0, second.Queue.Recovered);
        await second.AddAsync(Enumerable.Range(50, 5));
        Assert.Equal(Enumerable.Range(50, 5), (await second.ReadAsync(5)).Select(QueueUnderTest.NumberOf));
        Assert.DoesNotContain(left[0], SegmentFiles()); // read past, and everything in it acknowledged before
        Assert.Equal(BytesOnDisk(), second.Metric("queue.filled.bytes"));
    }

    [Fact]
    public async Task AnEventLargerThanASegmentGetsOneOfItsOwn()
    {
        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(_path, maxSize: MiB, segmentSize: 64 * 1024));
        var big = TestDocuments.Process(1, pid: new string('x', 200 * 1024));
        await queue.AddAsync(new[] { 0 });
        await queue.Queue.AddAsync(big, CancellationToken.None);
        await queue.AddAsync(new[] { 2 });

        var back = await queue.DrainAsync();
        Assert.Equal(new[] { 0, 1, 2 }, back.Select(QueueUnderTest.NumberOf));
        Assert.Equal(TestDocuments.Expected(big), TestDocuments.Expected(back[1]));
        Assert.Equal(3, SegmentFiles().Length);
        Assert.Equal(0, queue.Metric("queue.disk.oversized_events"));
    }

    [Fact]
    public async Task WrittenEventsAreSyncedEveryFsyncEventsEvents()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var settings = QueueUnderTest.Settings(_path, segmentSize: MiB) with { FsyncInterval = TimeSpan.FromHours(1), FsyncEvents = 5 };
        await using var queue = new QueueUnderTest(settings, time);
        for (var i = 0; i < 12; i++)
        {
            // One at a time, read back before the next, so each is a write of its own.
            await queue.AddAsync(new[] { i });
            await queue.ReadAsync(1);
        }

        Assert.Equal(2, queue.Metric("queue.disk.fsyncs")); // after the 5th and the 10th
        Assert.Equal(0, await queue.Queue.CloseAddingAsync(QueueUnderTest.Patience));
        Assert.Equal(3, queue.Metric("queue.disk.fsyncs")); // closing syncs the rest
    }

    [Fact]
    public async Task WrittenEventsAreSyncedOnceFsyncIntervalHasPassed()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var settings = QueueUnderTest.Settings(_path, segmentSize: MiB) with { FsyncInterval = TimeSpan.FromSeconds(1), FsyncEvents = 1000 };
        await using var queue = new QueueUnderTest(settings, time);
        await queue.AddAsync(new[] { 0 });
        await queue.ReadAsync(1);
        await Task.Delay(100);
        Assert.Equal(0, queue.Metric("queue.disk.fsyncs"));

        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => queue.Metric("queue.disk.fsyncs") == 1, QueueUnderTest.Patience);

        // Nothing new written: no more syncs, however long it stays idle.
        time.Advance(TimeSpan.FromSeconds(10));
        await Task.Delay(100);
        Assert.Equal(1, queue.Metric("queue.disk.fsyncs"));
    }

    [Fact]
    public async Task AFullQueueMakesProducersWaitUntilTheOutputAcknowledges()
    {
        const int Events = 3000; // about 3 MB of documents for a 1 MiB queue
        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(_path, maxSize: MiB, segmentSize: 64 * 1024, readAhead: 16, writeAhead: 16));
        var producer = queue.AddAsync(Enumerable.Range(0, Events));

        await Eventually.True(() => queue.Log.Lines.Any(l => l.Contains("the disk queue is full")), QueueUnderTest.Patience);
        var added = queue.Metric("queue.added.events");
        await Task.Delay(300);
        Assert.False(producer.IsCompleted, "the producer went on although nothing was acknowledged");
        Assert.Equal(added, queue.Metric("queue.added.events"));
        Assert.InRange(queue.Metric("queue.filled.bytes"), MiB - 64 * 1024, MiB);
        Assert.InRange(queue.Metric("queue.filled.pct"), 90, 100);
        Assert.Equal(BytesOnDisk(), queue.Metric("queue.filled.bytes"));

        // The output catches up: every acknowledged segment makes room, and nothing is lost or reordered.
        var delivered = new List<int>();
        while (delivered.Count < Events)
        {
            var evt = (await queue.ReadAsync(1))[0];
            delivered.Add(QueueUnderTest.NumberOf(evt));
            queue.Queue.Done(new[] { evt }, Array.Empty<Event>());
        }

        await producer.WaitAsync(QueueUnderTest.Patience);
        Assert.Equal(Enumerable.Range(0, Events), delivered);
        Assert.Equal(0, queue.Metric("queue.filled.events"));
        Assert.True(queue.Metric("queue.filled.bytes") <= MiB);
    }

    [Fact]
    public async Task ARestartWithAFullQueueSendsTheOldEventsFirstAndThenTakesNewOnes()
    {
        var settings = QueueUnderTest.Settings(_path, maxSize: MiB, segmentSize: 64 * 1024, readAhead: 16, writeAhead: 16);
        long kept;
        await using (var first = new QueueUnderTest(settings))
        {
            var producer = first.AddAsync(Enumerable.Range(0, 3000));
            await Eventually.True(() => first.Log.Lines.Any(l => l.Contains("the disk queue is full")), QueueUnderTest.Patience);
            kept = first.Metric("queue.added.events");
            Assert.False(producer.IsCompleted);
        }

        // The disk is as full as it was: new events wait for the old ones to be acknowledged, then follow them.
        await using var second = new QueueUnderTest(settings);
        Assert.Equal(kept, second.Queue.Recovered);
        var producing = second.AddAsync(Enumerable.Range(10_000, 1000));
        var delivered = new List<int>();
        while (delivered.Count < kept + 1000)
        {
            var evt = (await second.ReadAsync(1))[0];
            delivered.Add(QueueUnderTest.NumberOf(evt));
            second.Queue.Done(new[] { evt }, Array.Empty<Event>());
        }

        await producing.WaitAsync(QueueUnderTest.Patience);
        Assert.Equal(Enumerable.Range(0, (int)kept).Concat(Enumerable.Range(10_000, 1000)), delivered);
        Assert.Equal(0, second.Metric("queue.filled.events"));
    }

    [Fact]
    public async Task ARecordWhoseChecksumMatchesButWhichDoesNotParseIsSkippedAndCounted()
    {
        // Written by hand as the writer would, with a payload of a format this version does not know.
        Directory.CreateDirectory(_path, PrivateDirectory);
        var codec = new RecordCodec(TestDocuments.Writer);
        var segment = new ArrayBufferWriter<byte>();
        SegmentHeader.Write(segment.GetSpan(SegmentHeader.Size), 1);
        segment.Advance(SegmentHeader.Size);
        codec.Append(segment, TestDocuments.Process(0));
        var unknown = new byte[RecordFrame.Overhead + 40];
        unknown[RecordFrame.HeadSize] = 99; // format version
        RecordFrame.Seal(unknown);
        segment.Write(unknown);
        codec.Append(segment, TestDocuments.Process(2));
        File.WriteAllBytes(Path.Combine(_path, "1" + QueueDirectory.SegmentSuffix), segment.WrittenSpan.ToArray());

        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(_path));
        var back = await queue.ReadAsync(2);
        Assert.Equal(new[] { 0, 2 }, back.Select(QueueUnderTest.NumberOf));
        Assert.Equal(1, queue.Metric("queue.disk.corrupt_records"));
        Assert.Contains(queue.Log.Lines, l => l.Contains("does not parse"));

        // The skipped record is neither waited for nor counted as queued.
        queue.Queue.Done(back, Array.Empty<Event>());
        Assert.Equal(0, queue.Metric("queue.filled.events"));
        Assert.Single(SegmentFiles());
    }

    [Fact]
    public async Task AMissingSegmentLosesOnlyItsOwnEventsAndStrangeFilesAreLeftAlone()
    {
        var settings = QueueUnderTest.Settings(_path);
        await using (var first = new QueueUnderTest(settings))
        {
            await first.AddAsync(Enumerable.Range(0, 40));
            await first.DrainAsync();
        }

        var segments = SegmentFiles();
        var lost = NumbersIn(segments[3]);
        File.Delete(segments[3]);
        File.WriteAllText(Path.Combine(_path, "notes.seg"), "not a segment");
        File.WriteAllText(Path.Combine(_path, "README"), "hello");

        await using var second = new QueueUnderTest(settings);
        var back = (await second.DrainAsync()).Select(QueueUnderTest.NumberOf);
        Assert.Equal(Enumerable.Range(0, 40).Except(lost), back);
        Assert.Equal(0, second.Metric("queue.disk.corrupt_records"));
        Assert.True(File.Exists(Path.Combine(_path, "notes.seg")));
        Assert.True(File.Exists(Path.Combine(_path, "README")));
    }

    [Fact]
    public async Task ProducersOnSeveralThreadsLoseNothing()
    {
        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(_path, writeAhead: 64));
        await Task.WhenAll(Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++)
            {
                var evt = TestDocuments.Process(p * 1000 + i);
                if (i % 2 == 0 || !queue.Queue.TryAdd(evt))
                {
                    await queue.Queue.AddAsync(evt, CancellationToken.None);
                }
            }
        })));

        var back = (await queue.DrainAsync()).Select(QueueUnderTest.NumberOf).ToList();
        Assert.Equal(Enumerable.Range(0, 4).SelectMany(p => Enumerable.Range(p * 1000, 500)), back.Order());

        // Each producer's own events keep their order.
        for (var p = 0; p < 4; p++)
        {
            Assert.Equal(Enumerable.Range(p * 1000, 500), back.Where(n => n / 1000 == p));
        }
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    [InlineData("bad checksum")]
    public async Task ADamagedStateFileMeansDuplicatesNeverAGap(string damage)
    {
        var settings = QueueUnderTest.Settings(_path);
        await using (var first = new QueueUnderTest(settings))
        {
            await first.AddAsync(Enumerable.Range(0, 100));
            var read = await first.ReadAsync(100);
            first.Queue.Done(read.GetRange(0, 60), Array.Empty<Event>());
        }

        var state = Path.Combine(_path, QueueStateFile.Name);
        var bytes = File.ReadAllBytes(state);
        Assert.Equal(28, bytes.Length);
        switch (damage)
        {
            case "garbage":
                new Random(1).NextBytes(bytes);
                break;
            case "truncated":
                bytes = bytes[..10];
                break;
            default:
                bytes[17] ^= 0x01; // the offset, one bit: only the checksum tells
                break;
        }

        File.WriteAllBytes(state, bytes);

        await using var second = new QueueUnderTest(settings);
        Assert.Contains(second.Log.Lines, l => l.StartsWith("Warn", StringComparison.OrdinalIgnoreCase) && l.Contains("state.dat is damaged") && l.Contains("duplicates"));
        var back = (await second.DrainAsync()).Select(QueueUnderTest.NumberOf).ToList();
        Assert.Equal(99, back[^1]);
        Assert.InRange(back[0], 1, 60); // the segments acknowledged before were deleted; the rest is sent again
        Assert.Equal(Enumerable.Range(back[0], 100 - back[0]), back);
        Assert.Equal(back.Count, second.Queue.Recovered);

        // Its position is saved afresh, so the run after that is back to normal.
        await second.DisposeAsync();
        await using var third = new QueueUnderTest(settings);
        Assert.DoesNotContain(third.Log.Lines, l => l.Contains("damaged"));
    }

    [Fact]
    public async Task TheDirectoryIsCreatedPrivateAndTheFilesInItToo()
    {
        var nested = Path.Combine(_path, "deeper");
        await using (var queue = new QueueUnderTest(QueueUnderTest.Settings(nested)))
        {
            await queue.AddAsync(Enumerable.Range(0, 20));
            await queue.DrainAsync();
        }

        Assert.Equal(PrivateDirectory, File.GetUnixFileMode(nested));
        var files = Directory.GetFiles(nested);
        Assert.Contains(Path.Combine(nested, QueueStateFile.Name), files);
        Assert.True(files.Length > 2);
        Assert.All(files, f => Assert.Equal(Private, File.GetUnixFileMode(f)));
    }

    [Theory]
    [InlineData(UnixFileMode.GroupWrite, "writable by group or others")]
    [InlineData(UnixFileMode.OtherWrite, "writable by group or others")]
    public void ADirectoryOthersCanWriteToIsRefused(UnixFileMode extra, string problem)
    {
        Directory.CreateDirectory(_path, PrivateDirectory);
        File.SetUnixFileMode(_path, PrivateDirectory | extra);
        ExpectRefused(problem);
    }

    [KernelFact]
    public void ADirectoryOwnedBySomeoneElseIsRefused()
    {
        Directory.CreateDirectory(_path, PrivateDirectory);
        Assert.Equal(0, LibCForTests.Chown(_path, 65534, 65534));
        ExpectRefused("owned by uid 65534");
    }

    [Fact]
    public void ASymbolicLinkIsRefused()
    {
        var real = _dir.Combine("real");
        Directory.CreateDirectory(real, PrivateDirectory);
        Directory.CreateSymbolicLink(_path, real);
        ExpectRefused("symbolic link");
        Assert.Empty(Directory.GetFileSystemEntries(real));
    }

    [Fact]
    public async Task AnEventThatCannotBeEncodedIsDroppedAndCountedAndTheQueueGoesOn()
    {
        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(_path));
        var dropped = 0;
        queue.Queue.EventsDropped += count => dropped += count;
        await queue.AddAsync(Enumerable.Range(0, 3));
        var bad = TestDocuments.Process(99);
        await queue.Queue.AddAsync(new Event
        {
            Timestamp = bad.Timestamp,
            Module = bad.Module,
            Dataset = bad.Dataset,
            Action = bad.Action,
            Categories = bad.Categories,
            Types = bad.Types,
            Body = new ThrowingBody(),
        }, CancellationToken.None);
        await queue.AddAsync(Enumerable.Range(3, 3));

        var back = await queue.DrainAsync();
        Assert.Equal(Enumerable.Range(0, 6), back.Select(QueueUnderTest.NumberOf));
        Assert.Equal(1, queue.Metric("queue.disk.unencodable_events"));
        Assert.Equal(1, dropped);
        Assert.Contains(queue.Log.Lines, l => l.Contains("cannot encode") && l.Contains("body bug"));
    }

    [Fact]
    public async Task ADirectoryRemovedUnderTheRunningQueueIsRecreatedAndNewEventsGetThrough()
    {
        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(_path, segmentSize: 4096));
        await queue.AddAsync(Enumerable.Range(0, 5));
        await queue.ReadAsync(5);
        Directory.Delete(_path, recursive: true);

        // Enough to fill the segment being written (unlinked now) and roll to a new one.
        await queue.AddAsync(Enumerable.Range(5, 20));
        var back = await queue.ReadAsync(20);
        Assert.Equal(24, QueueUnderTest.NumberOf(back[^1]));
        Assert.True(Directory.Exists(_path));
        Assert.NotEmpty(SegmentFiles());
        Assert.Contains(queue.Log.Lines, l => l.Contains("was removed while the shipper ran") && l.Contains("recreating it"));
    }

    [Fact]
    public async Task ASecondQueueOnTheSameDirectoryIsRefusedUntilTheFirstIsGone()
    {
        var settings = QueueUnderTest.Settings(_path);
        var first = new QueueUnderTest(settings);
        await first.AddAsync(Enumerable.Range(0, 10));
        var error = Assert.Throws<ConfigException>(() => new QueueUnderTest(settings));
        Assert.Equal("queue.disk.path", error.Path);
        Assert.Contains("in use by another shipper process", error.Message);

        await first.DisposeAsync();
        await using var second = new QueueUnderTest(settings);
        Assert.Equal(10, second.Queue.Recovered);
    }

    [Fact]
    public async Task CloseAddingReturnsZeroOnceEverythingIsOnDisk()
    {
        var settings = QueueUnderTest.Settings(_path);
        var queue = new QueueUnderTest(settings);
        await queue.AddAsync(Enumerable.Range(0, 500));
        Assert.Equal(0, await queue.Queue.CloseAddingAsync(QueueUnderTest.Patience));
        Assert.True(queue.Metric("queue.disk.fsyncs") >= 1);

        // As if the process died right here: the files as they are now, without the queue being disposed.
        var copy = _dir.Combine("copy");
        Directory.CreateDirectory(copy, PrivateDirectory);
        // cp, not File.Copy: .NET takes a shared flock to read, which the running queue's exclusive lock on
        // state.dat refuses (that lock keeps a second shipper out); a crash leaves the bytes, not the lock.
        foreach (var file in Directory.GetFiles(_path))
        {
            using var cp = System.Diagnostics.Process.Start("/bin/cp", new[] { file, Path.Combine(copy, Path.GetFileName(file)) })!;
            cp.WaitForExit();
            Assert.Equal(0, cp.ExitCode);
        }

        await queue.DisposeAsync();

        await using var reopened = new QueueUnderTest(settings with { Path = copy });
        Assert.Equal(500, reopened.Queue.Recovered);
        var back = await reopened.DrainAsync();
        Assert.Equal(Enumerable.Range(0, 500).Select(i => TestDocuments.Expected(TestDocuments.Process(i))), back.Select(QueueUnderTest.DocumentOf));
    }

    [Fact]
    public async Task CloseAddingGivesUpOnAFullQueueAndCountsWhatWasNotWritten()
    {
        const int Events = 2000;
        var settings = QueueUnderTest.Settings(_path, maxSize: MiB, segmentSize: 64 * 1024, writeAhead: Events);
        long unwritten;
        await using (var queue = new QueueUnderTest(settings))
        {
            for (var i = 0; i < Events; i++)
            {
                Assert.True(queue.Queue.TryAdd(TestDocuments.Process(i)));
            }

            unwritten = await queue.Queue.CloseAddingAsync(TimeSpan.FromMilliseconds(300));
            Assert.InRange(unwritten, 1, Events - 1);
            Assert.Contains(queue.Log.Lines, l => l.Contains("could not write every accepted event"));
        }

        // What it said was written is all there, in order; nothing more.
        await using var reopened = new QueueUnderTest(settings);
        Assert.Equal(Events - unwritten, reopened.Queue.Recovered);
        Assert.Equal(Enumerable.Range(0, (int)(Events - unwritten)), (await reopened.DrainAsync()).Select(QueueUnderTest.NumberOf));
    }

    [Fact]
    public async Task AnEventLargerThanTheQueueIsDroppedAndCounted()
    {
        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(_path, maxSize: MiB, segmentSize: 64 * 1024));
        var dropped = 0;
        queue.Queue.EventsDropped += n => Interlocked.Add(ref dropped, n);
        await queue.AddAsync(new[] { 0 });
        await queue.Queue.AddAsync(TestDocuments.Process(1, pid: new string('x', (int)MiB)), CancellationToken.None);
        await queue.AddAsync(new[] { 2 });

        Assert.Equal(new[] { 0, 2 }, (await queue.DrainAsync()).Select(QueueUnderTest.NumberOf));
        Assert.Equal(1, queue.Metric("queue.disk.oversized_events"));
        Assert.Equal(1, dropped);
        Assert.Contains(queue.Log.Lines, l => l.Contains("larger than queue.disk.max_size"));
    }

    /// <summary>
    /// Closing ends the reader once it has read everything: its channel completes. Run many times because the
    /// wake-up at the writer's end once raced with the reader's check that the writer was done (the reader then
    /// waited forever).
    /// </summary>
    [Fact]
    public async Task ClosingAlwaysEndsTheReader()
    {
        await Parallel.ForAsync(0, 300, async (i, _) =>
        {
            using var dir = new TempDirectory();
            await using var queue = new QueueUnderTest(QueueUnderTest.Settings(dir.Combine("queue")));
            await queue.AddAsync(Enumerable.Range(0, i % 4));
            Assert.Equal(i % 4, (await queue.DrainAsync()).Count);
        });
    }

    /// <summary>
    /// A backlog (after an outage, or a restart) goes out in batches of the output's size, not of read_ahead:
    /// the workers wait for a reader that is still reading rather than sending every 64 events.
    /// </summary>
    [Fact]
    public async Task ABacklogOnDiskGoesOutInFullBatchesAndTheLastOneWithoutWaiting()
    {
        await using var queue = new QueueUnderTest(QueueUnderTest.Settings(_path, segmentSize: 64 * 1024, readAhead: 64));
        await queue.AddAsync(Enumerable.Range(0, 1000));
        await Eventually.True(() => queue.Queue.Count == 1000, QueueUnderTest.Patience);

        var output = new RecordingOutput(QueueUnderTest.NumberOf);
        var settings = QueueSettings.ForDiskQueue(queue.Queue.Settings);
        var pipeline = new Pipeline(queue.Queue, settings, output, 400, 1, new MetricsRegistry(), Logger.Null, TimeProvider.System);
        pipeline.Start();
        await Eventually.True(() => output.BatchSizes.Sum() == 1000, QueueUnderTest.Patience);

        Assert.Equal(new[] { 400, 400, 200 }, output.BatchSizes);
        Assert.Equal(Enumerable.Range(0, 1000), output.Delivered);
        await pipeline.DrainAsync(QueueUnderTest.Patience);
    }

    private void ExpectRefused(string problem)
    {
        var error = Assert.Throws<ConfigException>(() => new QueueUnderTest(QueueUnderTest.Settings(_path)));
        Assert.Equal("queue.disk.path", error.Path);
        Assert.Contains(problem, error.Message);
        Assert.False(File.Exists(Path.Combine(_path, QueueStateFile.Name)));
    }

    private string[] SegmentFiles() =>
        Directory.GetFiles(_path, "*" + QueueDirectory.SegmentSuffix)
            .OrderBy(f => long.Parse(Path.GetFileNameWithoutExtension(f), System.Globalization.CultureInfo.InvariantCulture))
            .ToArray();

    private static List<int> NumbersIn(string segment)
    {
        var numbers = new List<int>();
        using var reader = new SegmentReader(segment, SegmentHeader.Size);
        var codec = new RecordCodec(TestDocuments.Writer);
        while (reader.Next(reader.FileLength, final: true) == SegmentReadResult.Record)
        {
            Assert.True(codec.TryDecode(reader.Payload, 0, out var evt));
            numbers.Add(QueueUnderTest.NumberOf(evt!));
        }

        return numbers;
    }

    private long BytesOnDisk() => SegmentFiles().Sum(f => new FileInfo(f).Length);
}
