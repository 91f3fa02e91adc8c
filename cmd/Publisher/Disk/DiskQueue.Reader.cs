using Shipper.Module.Registry;

namespace Shipper.Publisher.Disk;

/// <summary>The reader loop: reads records back in order into the read-ahead channel the output workers take from.</summary>
public sealed partial class DiskQueue
{
    private async Task RunReaderAsync(QueuePosition start, CancellationToken stop)
    {
        var codec = new RecordCodec(_documents);
        Segment current;
        lock (_lock)
        {
            current = _segments.Find(s => s.Id == start.Segment) ?? _segments[0];
        }

        var reader = OpenReader(current, current.Id == start.Segment ? start.Offset : SegmentHeader.Size);
        var limit = current.FromEarlierRun ? FileLengthOf(reader) : 0;
        try
        {
            while (true)
            {
                // Sealed is read before Size: once sealed, the size read after it is final.
                var isSealed = current.Sealed;
                if (!current.FromEarlierRun)
                {
                    limit = current.Size;
                }

                var result = reader is null ? SegmentReadResult.End : reader.Next(limit, final: current.FromEarlierRun);
                if (result == SegmentReadResult.Record)
                {
                    long sequence;
                    lock (_lock)
                    {
                        sequence = _frontier!.Add(new QueuePosition(current.Id, reader!.Position));
                    }

                    if (!codec.TryDecode(reader!.Payload, sequence, out var evt))
                    {
                        ReportCorrupt(current, reader.Position - reader.Payload.Length - RecordFrame.Overhead, reader.Position, "its checksum matches but its content does not parse");
                        lock (_lock)
                        {
                            if (_frontier!.MarkDone(sequence))
                            {
                                FrontierMoved();
                            }
                        }

                        Interlocked.Decrement(ref _filled);
                        continue;
                    }

                    _consumed.Increment();
                    await _readAhead.Writer.WriteAsync(evt!, stop).ConfigureAwait(false);
                    continue;
                }

                if (result == SegmentReadResult.Corrupt)
                {
                    ReportCorrupt(current, reader!.SkippedFrom, reader.Position, "a torn or damaged record");
                    lock (_lock)
                    {
                        if (_frontier!.AddDone(new QueuePosition(current.Id, reader.Position)))
                        {
                            FrontierMoved();
                        }
                    }

                    continue;
                }

                if (isSealed)
                {
                    Segment next;
                    lock (_lock)
                    {
                        next = _segments.Find(s => s.Id > current.Id)!;
                        if (_frontier!.AddDone(new QueuePosition(next.Id, SegmentHeader.Size)))
                        {
                            FrontierMoved();
                        }
                    }

                    reader?.Dispose();
                    current = next;
                    reader = OpenReader(current, SegmentHeader.Size);
                    limit = current.FromEarlierRun ? FileLengthOf(reader) : 0;
                    continue;
                }

                if (_writerFinished && current.Size == limit)
                {
                    break; // closed: everything written has been read
                }

                // Caught up with the writer (or waiting to retry a segment): nothing more is coming at once.
                Volatile.Write(ref _readerIdle, true);
                if (reader is null)
                {
                    await Task.Delay(_settings.RetryInterval, _time, stop).ConfigureAwait(false);
                    reader = OpenReader(current, SegmentHeader.Size);
                    Volatile.Write(ref _readerIdle, false);
                    continue;
                }

                await _readerWake.Reader.ReadAsync(stop).ConfigureAwait(false);
                Volatile.Write(ref _readerIdle, false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping: what was read and not delivered stays on disk for the next start.
        }
        finally
        {
            Volatile.Write(ref _readerIdle, true);
            reader?.Dispose();
            _readAhead.Writer.TryComplete();
        }
    }

    private SegmentReader? OpenReader(Segment segment, long offset)
    {
        try
        {
            var reader = new SegmentReader(segment.Path, offset);
            if (segment.FromEarlierRun && !HeaderIsValid(reader, segment.Id))
            {
                _log.Warn($"disk queue segment {segment.Path} has a damaged header; reading its records anyway");
            }

            return reader;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error($"cannot read disk queue segment {segment.Path}: {e.Message}" + (segment.Sealed ? "; skipping it" : "; retrying"));
            return null;
        }
    }

    private static bool HeaderIsValid(SegmentReader reader, long id)
    {
        Span<byte> header = stackalloc byte[SegmentHeader.Size];
        return reader.TryReadAt(0, header) && SegmentHeader.IsValid(header, id);
    }

    private static long FileLengthOf(SegmentReader? reader) => reader?.FileLength ?? 0;

    private void ReportCorrupt(Segment segment, long from, long to, string what)
    {
        _corrupt.Increment();
        _log.Warn($"disk queue segment {segment.Path}: skipped bytes {from} to {to} ({what}); the event there is lost and counted in queue.disk.corrupt_records");
    }
}
