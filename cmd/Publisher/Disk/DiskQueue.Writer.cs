using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Shipper.Module.Registry;
using Shipper.Watchdog;

namespace Shipper.Publisher.Disk;

/// <summary>The writer loop: frames events into the current segment, rolls segments, waits for space, syncs.</summary>
public sealed partial class DiskQueue
{
    /// <summary>How much the writer frames before one write(2): large enough to amortise the call, small in memory.</summary>
    private const int WriteChunk = 1024 * 1024;

    /// <summary>The most events the writer takes from the write-ahead at once (about 650 KB of process records).</summary>
    private const int TakeBurst = 512;

    private SafeFileHandle? _writerFile;
    private Segment? _writerSegment;
    private long _unsyncedEvents;
    private long _lastSync;
    private bool _highWaterLogged;
    private bool _fullLogged;
    private volatile bool _writerFinished;

    private async Task RunWriterAsync()
    {
        var codec = new RecordCodec(_documents);
        var pending = new ArrayBufferWriter<byte>(WriteChunk + 64 * 1024);
        var lengths = new List<int>();
        var taken = new Event[Math.Min(_settings.WriteAhead, TakeBurst)];
        var abort = _writerAbort.Token;
        _lastSync = _time.GetTimestamp();
        try
        {
            while (true)
            {
                // Take what is queued before encoding any of it. A producer that outpaces the writer waits on a
                // full write-ahead, and each slot freed while it waits wakes it on a pool thread: freed one at a
                // time between encodings, that was a wake-up for every ~20 events; freed in a burst, one per burst.
                var count = 0;
                while (count < taken.Length && _writeAhead.Reader.TryRead(out var evt))
                {
                    taken[count++] = evt;
                }

                if (count == 0)
                {
                    if (!await WaitForEventsAsync(abort).ConfigureAwait(false))
                    {
                        break;
                    }

                    continue;
                }

                for (var i = 0; i < count; i++)
                {
                    TryAppend(codec, pending, lengths, taken[i]);
                    taken[i] = null!;
                    if (pending.WrittenCount >= WriteChunk)
                    {
                        await WriteAndSyncAsync(pending, lengths, abort).ConfigureAwait(false);
                    }
                }

                if (lengths.Count > 0)
                {
                    await WriteAndSyncAsync(pending, lengths, abort).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Closing gave up on the rest (the disk stayed full or failing): what was not written is counted by the caller.
        }

        if (_unsyncedEvents > 0)
        {
            Sync();
        }

        // A flag set before the wake-up, not _writer.IsCompleted: that task completes only after this method has
        // returned, so a reader woken by the line below could still see it running, wait for another wake-up
        // that never comes, and never complete the read-ahead channel.
        _writerFinished = true;
        _readerWake.Writer.TryWrite(true);
    }

    /// <summary>
    /// Frames one event. An event whose document cannot be encoded (a dataset's body that throws) would throw
    /// again on every try: it is dropped with an error line and counted, and the records before it are kept,
    /// instead of the writer loop dying and the queue with it.
    /// </summary>
    private void TryAppend(RecordCodec codec, ArrayBufferWriter<byte> pending, List<int> lengths, Event evt)
    {
        var before = pending.WrittenCount;
        try
        {
            lengths.Add(codec.Append(pending, evt));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Append encodes in place, so part of this record is in the buffer: keep only the whole ones.
            var whole = pending.WrittenSpan[..before].ToArray();
            pending.ResetWrittenCount();
            pending.Write(whole);
            _unencodable.Increment();
            Interlocked.Increment(ref _written); // accounted for: the publisher counts it dropped
            EventsDropped?.Invoke(1);
            _log.Error($"cannot encode a {evt.Dataset} event ({evt.Action}) for the disk queue: {e.GetType().Name}: {e.Message}; dropping it");
        }
    }

    /// <summary>Writes the framed records in <paramref name="pending"/>, empties it, and syncs when fsync.events or fsync.interval says so.</summary>
    private async Task WriteAndSyncAsync(ArrayBufferWriter<byte> pending, List<int> lengths, CancellationToken abort)
    {
        await WritePendingAsync(pending.WrittenMemory, lengths, abort).ConfigureAwait(false);
        pending.ResetWrittenCount();
        lengths.Clear();
        if (_unsyncedEvents >= _settings.FsyncEvents || _time.GetElapsedTime(_lastSync) >= _settings.FsyncInterval)
        {
            Sync();
        }
    }

    /// <summary>Waits for events; when written data is not yet synced, at most until the next sync is due. False once closed and empty.</summary>
    private async Task<bool> WaitForEventsAsync(CancellationToken abort)
    {
        if (_unsyncedEvents == 0)
        {
            return await _writeAhead.Reader.WaitToReadAsync(abort).ConfigureAwait(false);
        }

        var due = _settings.FsyncInterval - _time.GetElapsedTime(_lastSync);
        if (due <= TimeSpan.Zero)
        {
            Sync();
            return true;
        }

        using var timer = new CancellationTokenSource(due, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(abort, timer.Token);
        try
        {
            return await _writeAhead.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!abort.IsCancellationRequested)
        {
            Sync();
            return true;
        }
    }

    /// <summary>Writes the framed records, rolling to a new segment at segment_size and waiting while the queue is full.</summary>
    private async Task WritePendingAsync(ReadOnlyMemory<byte> pending, List<int> lengths, CancellationToken abort)
    {
        var offset = 0;
        var index = 0;
        while (index < lengths.Count)
        {
            // The run of records that fits both the current segment and the space left.
            var segmentRoom = _settings.SegmentSize - _writerSegment!.Size;
            var spaceRoom = _settings.MaxSize - Interlocked.Read(ref _diskBytes);
            var runBytes = 0;
            var runCount = 0;
            while (index + runCount < lengths.Count)
            {
                var next = lengths[index + runCount];
                if (runBytes + next > spaceRoom || (runBytes + next > segmentRoom && (runCount > 0 || _writerSegment.Size > SegmentHeader.Size)))
                {
                    break;
                }

                runBytes += next;
                runCount++;
            }

            if (runCount == 0)
            {
                if (lengths[index] > _settings.MaxSize - SegmentHeader.Size)
                {
                    // Never fits, not even in an empty queue: the one loss the disk queue itself can cause.
                    _log.Error($"an event of {lengths[index]} bytes is larger than queue.disk.max_size ({_settings.MaxSize} bytes) allows; dropping it");
                    _oversized.Increment();
                    Interlocked.Increment(ref _written); // accounted for: the publisher counts it dropped
                    EventsDropped?.Invoke(1);
                    offset += lengths[index];
                    index++;
                    continue;
                }

                if (lengths[index] <= spaceRoom)
                {
                    await RollSegmentAsync(abort).ConfigureAwait(false);
                    continue;
                }

                await WaitForSpaceAsync(lengths[index], abort).ConfigureAwait(false);
                continue;
            }

            await WriteWithRetryAsync(pending.Slice(offset, runBytes), abort).ConfigureAwait(false);
            offset += runBytes;
            index += runCount;
            _writerSegment.Size += runBytes;
            Interlocked.Add(ref _diskBytes, runBytes);
            Interlocked.Add(ref _filled, runCount);
            Interlocked.Add(ref _written, runCount);
            _added.Add(runCount);
            _unsyncedEvents += runCount;
            _readerWake.Writer.TryWrite(true);
            LogFillLevel();
        }
    }

    private async Task WriteWithRetryAsync(ReadOnlyMemory<byte> bytes, CancellationToken abort)
    {
        var delay = _settings.RetryInterval;
        while (true)
        {
            try
            {
                // Positional: a failed or partial write is simply written again over the same bytes.
                RandomAccess.Write(_writerFile!, bytes.Span, _writerSegment!.Size);
                return;
            }
            catch (IOException e)
            {
                _writeErrors.Increment();
                _log.Error($"cannot write to disk queue segment {_writerSegment!.Path} at offset {_writerSegment.Size}: {e.Message}; retrying in {delay.TotalSeconds:0.###}s");
                await Task.Delay(delay, _time, abort).ConfigureAwait(false);
                delay = NextRetryDelay(delay);
            }
        }
    }

    /// <summary>retry_interval doubling up to max_retry_interval, as libbeat's disk queue backs off.</summary>
    private TimeSpan NextRetryDelay(TimeSpan delay) => delay * 2 > _settings.MaxRetryInterval ? _settings.MaxRetryInterval : delay * 2;

    private async Task RollSegmentAsync(CancellationToken abort)
    {
        var delay = _settings.RetryInterval;
        var next = _writerSegment!.Id + 1;
        while (true)
        {
            try
            {
                // A sealed segment is whole on disk before the reader is told it is final.
                RandomAccess.FlushToDisk(_writerFile!);
                OpenWriterSegment(next);
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Module.Config.ConfigException)
            {
                _writeErrors.Increment();
                _log.Error($"cannot start disk queue segment {QueueDirectory.SegmentPath(_settings.Path, next)}: {e.Message}; retrying in {delay.TotalSeconds:0.###}s");
                await Task.Delay(delay, _time, abort).ConfigureAwait(false);
                delay = NextRetryDelay(delay);
            }
        }
    }

    /// <summary>Creates segment <paramref name="id"/> with its header, adds it to the list, and seals the previous one.</summary>
    private void OpenWriterSegment(long id)
    {
        var path = QueueDirectory.SegmentPath(_settings.Path, id);
        if (_opened && !Directory.Exists(_settings.Path))
        {
            // Someone removed the directory under a running queue: what it held is gone, but new events must not
            // wait forever for a directory nobody will bring back. Recreated with the same checks as at start.
            _log.Error($"the disk queue directory {_settings.Path} was removed while the shipper ran; the events in it are lost; recreating it");
            QueueDirectory.Prepare(_settings.Path);
        }

        QueueDirectory.CreatePrivateFile(path, mustBeNew: true);
        var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        try
        {
            Span<byte> header = stackalloc byte[SegmentHeader.Size];
            SegmentHeader.Write(header, id);
            RandomAccess.Write(file, header, 0);
            LibC.SyncDirectory(_settings.Path);
        }
        catch
        {
            file.Dispose();
            File.Delete(path);
            throw;
        }

        var segment = new Segment(id, path, SegmentHeader.Size, isSealed: false, fromEarlierRun: false);
        var previous = _writerSegment;
        lock (_lock)
        {
            // The new segment is in the list before the old one is sealed, so a reader that sees the seal finds it.
            _segments.Add(segment);
            _diskBytes += SegmentHeader.Size;
        }

        _writerFile?.Dispose();
        _writerFile = file;
        _writerSegment = segment;
        if (previous is not null)
        {
            previous.Sealed = true;
            _readerWake.Writer.TryWrite(true);
        }
    }

    private async Task WaitForSpaceAsync(int needed, CancellationToken abort)
    {
        // Only sealed segments are ever deleted: seal this one, or a queue whose data all sits in the segment
        // being written would wait for space forever.
        if (_writerSegment!.Size > SegmentHeader.Size)
        {
            await RollSegmentAsync(abort).ConfigureAwait(false);
        }

        if (!_fullLogged)
        {
            _fullLogged = true;
            _log.Warn($"the disk queue is full ({Interlocked.Read(ref _diskBytes)} of {_settings.MaxSize} bytes): new events wait until the output has acknowledged a whole segment");
        }

        // Written data is synced before waiting: a long outage should not leave the newest events only in the page cache.
        if (_unsyncedEvents > 0)
        {
            Sync();
        }

        while (_settings.MaxSize - Interlocked.Read(ref _diskBytes) < needed)
        {
            await _spaceFreed.Reader.ReadAsync(abort).ConfigureAwait(false);
        }
    }

    private void LogFillLevel()
    {
        var used = Interlocked.Read(ref _diskBytes);
        if (used * 10 >= _settings.MaxSize * 8)
        {
            if (!_highWaterLogged)
            {
                _highWaterLogged = true;
                _log.Warn($"the disk queue is 80% full ({used} of {_settings.MaxSize} bytes in {_settings.Path}); the output is not keeping up");
            }
        }
        else if (used * 10 < _settings.MaxSize * 7)
        {
            // Re-armed only well below the mark, so a queue hovering at 80% logs once, not on every segment.
            _highWaterLogged = false;
            _fullLogged = false;
        }
    }

    private void Sync()
    {
        try
        {
            RandomAccess.FlushToDisk(_writerFile!);
            _fsyncs.Increment();
        }
        catch (IOException e)
        {
            _writeErrors.Increment();
            _log.Error($"cannot sync disk queue segment {_writerSegment!.Path}: {e.Message}; a power cut could lose its newest events");
        }

        _unsyncedEvents = 0;
        _lastSync = _time.GetTimestamp();
    }
}
