using System.Threading.Channels;
using Shipper.Config;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;

namespace Shipper.Publisher.Disk;

/// <summary>
/// <c>queue.disk</c>: an at-least-once queue in segment files, as libbeat's disk queue. Producers hand events to
/// the write-ahead channel; the writer loop (<c>DiskQueue.Writer.cs</c>) frames them into the current segment and
/// syncs on its schedule; the reader loop (<c>DiskQueue.Reader.cs</c>) reads them back into the read-ahead
/// channel the output workers take batches from. Acknowledgements move the <see cref="AckFrontier"/>, which is
/// saved in <c>state.dat</c>; a segment is deleted once the frontier has passed it. A restart resumes at the
/// saved frontier: events sent but not yet acknowledged are sent again, none is skipped.
/// Threading: the lock guards the segment list, the frontier, the state file and the byte count; each loop owns
/// its own file handles.
/// </summary>
public sealed partial class DiskQueue : IEventQueue
{
    private readonly DiskQueueSettings _settings;
    private readonly DocumentWriter _documents;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private readonly Channel<Event> _writeAhead;
    private readonly Channel<Event> _readAhead;
    private readonly Channel<bool> _readerWake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<bool> _spaceFreed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _writerAbort = new();
    private readonly CancellationTokenSource _readerStop = new();
    private readonly object _lock = new();
    private readonly List<Segment> _segments = new();

    private readonly Counter _added;
    private readonly Counter _consumed;
    private readonly Counter _removed;
    private readonly Counter _corrupt;
    private readonly Counter _recoveredCounter;
    private readonly Counter _writeErrors;
    private readonly Counter _fsyncs;
    private readonly Counter _oversized;
    private readonly Counter _unencodable;

    private AckFrontier? _frontier;
    private QueueStateFile? _state;
    private Task _writer = Task.CompletedTask;
    private Task _reader = Task.CompletedTask;
    private long _diskBytes;
    private long _filled;
    private long _accepted;
    private long _written;
    private bool _opened;
    private bool _readerIdle;
    private bool _disposed;

    public DiskQueue(DiskQueueSettings settings, DocumentWriter documents, MetricsRegistry metrics, Logger log, TimeProvider time)
    {
        _settings = settings;
        _documents = documents;
        _log = log;
        _time = time;
        _writeAhead = Channel.CreateBounded<Event>(new BoundedChannelOptions(settings.WriteAhead)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _readAhead = Channel.CreateBounded<Event>(new BoundedChannelOptions(settings.ReadAhead)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = true,
        });

        metrics.Gauge("queue.max_bytes").Set(settings.MaxSize);
        metrics.GaugeFunc("queue.filled.bytes", () => Interlocked.Read(ref _diskBytes));
        metrics.GaugeFunc("queue.filled.events", () => Interlocked.Read(ref _filled));
        metrics.GaugeFunc("queue.filled.pct", () => Interlocked.Read(ref _diskBytes) * 100 / settings.MaxSize);
        metrics.GaugeFunc("queue.disk.segments", () => { lock (_lock) { return _segments.Count; } });
        _added = metrics.Counter("queue.added.events");
        _consumed = metrics.Counter("queue.consumed.events");
        _removed = metrics.Counter("queue.removed.events");
        _corrupt = metrics.Counter("queue.disk.corrupt_records");
        _recoveredCounter = metrics.Counter("queue.disk.recovered.events");
        _writeErrors = metrics.Counter("queue.disk.write_errors");
        _fsyncs = metrics.Counter("queue.disk.fsyncs");
        _oversized = metrics.Counter("queue.disk.oversized_events");
        _unencodable = metrics.Counter("queue.disk.unencodable_events");
    }

    public event Action<int>? EventsDropped;

    public string Type => "disk";

    public long Count => Interlocked.Read(ref _filled);

    public long Recovered { get; private set; }

    public bool KeepsEventsAcrossRestarts => true;

    public ChannelReader<Event> Reader => _readAhead.Reader;

    public bool IsRefilling => !Volatile.Read(ref _readerIdle);

    public DiskQueueSettings Settings => _settings;

    /// <summary>
    /// Takes over the directory: checks it, resumes after the saved frontier (events of earlier runs are counted
    /// and sent first), and starts the writer and reader loops. Damage in its own files is logged, never fatal;
    /// a directory others could write to is refused with a <see cref="Module.Config.ConfigException"/>.
    /// </summary>
    public void Open()
    {
        if (_opened)
        {
            return;
        }

        _opened = true;
        QueueDirectory.Prepare(_settings.Path);
        _state = QueueStateFile.Open(_settings.Path, out var saved, out var problem);
        if (problem is not null)
        {
            _log.Warn($"{problem}; sending every event still in the queue again (duplicates, never a gap)");
        }

        var ids = QueueDirectory.ListSegments(_settings.Path);
        var start = Recover(ids, saved);
        _frontier = new AckFrontier(start);
        OpenWriterSegment(NextSegmentId(ids, saved));
        _state.Write(start);
        _writer = Task.Run(RunWriterAsync);
        _reader = Task.Run(() => RunReaderAsync(start, _readerStop.Token));
        _log.Info($"disk queue at {_settings.Path}: {Recovered} events from earlier runs to send, {Interlocked.Read(ref _diskBytes)} of {_settings.MaxSize} bytes used");
    }

    public bool TryAdd(Event evt)
    {
        if (!_writeAhead.Writer.TryWrite(evt))
        {
            return false;
        }

        Interlocked.Increment(ref _accepted);
        return true;
    }

    public async ValueTask AddAsync(Event evt, CancellationToken cancellationToken)
    {
        await _writeAhead.Writer.WriteAsync(evt, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _accepted);
    }

    public void Done(IReadOnlyList<Event> batch, IReadOnlyList<Event> retry)
    {
        if (retry.Count == batch.Count)
        {
            return;
        }

        HashSet<Event>? again = retry.Count > 0 ? new HashSet<Event>(retry, ReferenceEqualityComparer.Instance) : null;
        var done = 0;
        lock (_lock)
        {
            if (_state is null)
            {
                // Not open, or disposed: an output worker the publisher left behind at shutdown may still report
                // back. The position was saved at dispose; these events are simply sent again next start.
                return;
            }

            // Indexed, not foreach: no enumerator to allocate and half the interface calls, per event, under the
            // lock the reader loop takes for every record it reads.
            var moved = false;
            for (var i = 0; i < batch.Count; i++)
            {
                var evt = batch[i];
                if (evt.Body is EncodedDocument document && (again is null || !again.Contains(evt)))
                {
                    moved |= _frontier!.MarkDone(document.Sequence);
                    done++;
                }
            }

            if (moved)
            {
                FrontierMoved();
            }
        }

        _removed.Add(done);
        Interlocked.Add(ref _filled, -done);
    }

    public async Task<long> CloseAddingAsync(TimeSpan timeout)
    {
        _writeAhead.Writer.TryComplete();
        if (timeout < TimeSpan.Zero)
        {
            timeout = TimeSpan.Zero;
        }

        try
        {
            await _writer.WaitAsync(timeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.Error($"the disk queue could not write every accepted event within {timeout.TotalSeconds:0.###}s (is {_settings.Path} full or failing?); giving up on the rest");
            _writerAbort.Cancel();
            await _writer.ConfigureAwait(false);
        }

        return Interlocked.Read(ref _accepted) - Interlocked.Read(ref _written);
    }

    public IEnumerable<string> Diagnostics()
    {
        int segments;
        QueuePosition acked;
        long outstanding;
        lock (_lock)
        {
            segments = _segments.Count;
            acked = _frontier?.Position ?? default;
            outstanding = _frontier?.Outstanding ?? 0;
        }

        yield return $"queue disk: {Count} events, {Interlocked.Read(ref _diskBytes)}/{_settings.MaxSize} bytes in {segments} segments at {_settings.Path}, acknowledged up to segment {acked.Segment} offset {acked.Offset}, {outstanding} read and not yet acknowledged, write-ahead {_writeAhead.Reader.Count}/{_settings.WriteAhead}, read-ahead {_readAhead.Reader.Count}/{_settings.ReadAhead}";
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _writeAhead.Writer.TryComplete();
        _writerAbort.Cancel();
        _readerStop.Cancel();
        await _writer.ConfigureAwait(false);
        await _reader.ConfigureAwait(false);
        lock (_lock)
        {
            if (_state is not null && _frontier is not null)
            {
                try
                {
                    _state.Write(_frontier.Position);
                    _state.Sync();
                }
                catch (IOException e)
                {
                    _log.Error($"cannot save the disk queue's position in {_settings.Path}: {e.Message}; the next start sends some acknowledged events again");
                }

                _state.Dispose();
                _state = null;
            }
        }

        _writerFile?.Dispose();
        _writerAbort.Dispose();
        _readerStop.Dispose();
    }

    /// <summary>
    /// Builds the segment list from what an earlier run left: segments the saved frontier has passed are deleted,
    /// the rest are counted (each record read once, so the count is exact). Returns where reading starts.
    /// </summary>
    private QueuePosition Recover(List<long> ids, QueuePosition? saved)
    {
        var start = saved ?? new QueuePosition(ids.Count > 0 ? ids[0] : 0, SegmentHeader.Size);
        foreach (var id in ids)
        {
            var path = QueueDirectory.SegmentPath(_settings.Path, id);
            if (id < start.Segment)
            {
                TryDelete(path, "the saved position has passed it");
                continue;
            }

            long size;
            try
            {
                size = new FileInfo(path).Length;
            }
            catch (IOException e)
            {
                _log.Error($"cannot read disk queue segment {path}: {e.Message}; leaving it out");
                continue;
            }

            if (start.Segment < id && _segments.Count == 0)
            {
                // The saved segment is gone (deleted once passed, before the position naming the next was saved).
                start = new QueuePosition(id, SegmentHeader.Size);
            }

            var from = id == start.Segment ? Math.Max(start.Offset, SegmentHeader.Size) : SegmentHeader.Size;
            var records = CountRecords(path, from);
            _segments.Add(new Segment(id, path, size, isSealed: true, fromEarlierRun: true));
            _diskBytes += size;
            Recovered += records;
        }

        if (_segments.Count == 0)
        {
            start = new QueuePosition(NextSegmentId(ids, saved), SegmentHeader.Size);
        }
        else if (start.Segment == _segments[0].Id && start.Offset < SegmentHeader.Size)
        {
            start = start with { Offset = SegmentHeader.Size };
        }

        _filled = Recovered;
        _recoveredCounter.Add(Recovered);
        return start;
    }

    /// <summary>The id the writer's first segment gets: past every file and past the saved position (its segment may be gone).</summary>
    private static long NextSegmentId(List<long> ids, QueuePosition? saved) => Math.Max(ids.Count > 0 ? ids[^1] : 0, saved?.Segment ?? 0) + 1;

    private long CountRecords(string path, long from)
    {
        try
        {
            using var reader = new SegmentReader(path, from);
            var limit = reader.FileLength;
            long records = 0;
            SegmentReadResult result;
            while ((result = reader.Next(limit, final: true)) != SegmentReadResult.End)
            {
                if (result == SegmentReadResult.Record)
                {
                    records++;
                }
            }

            return records;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error($"cannot read disk queue segment {path}: {e.Message}");
            return 0;
        }
    }

    /// <summary>Called under the lock when the frontier moved: saves it and deletes the segments it has passed.</summary>
    private void FrontierMoved()
    {
        var position = _frontier!.Position;
        var freed = false;
        while (_segments.Count > 1 && _segments[0].Id < position.Segment && _segments[0].Sealed)
        {
            var segment = _segments[0];
            _segments.RemoveAt(0);
            TryDelete(segment.Path, "every event in it was acknowledged");
            Interlocked.Add(ref _diskBytes, -segment.Size);
            freed = true;
        }

        try
        {
            _state!.Write(position);
        }
        catch (IOException e)
        {
            _log.Error($"cannot save the disk queue's position in {_settings.Path}: {e.Message}; a restart would send acknowledged events again");
        }

        if (freed)
        {
            _spaceFreed.Writer.TryWrite(true);
        }
    }

    private void TryDelete(string path, string why)
    {
        try
        {
            File.Delete(path);
            _log.Debug($"deleted disk queue segment {path}: {why}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error($"cannot delete disk queue segment {path} ({why}): {e.Message}");
        }
    }
}
