namespace Shipper.Publisher.Disk;

/// <summary>
/// Turns acknowledgements, which arrive in any order from several output workers, into the one position
/// before which everything is done. Every record the reader hands out gets the next sequence number and an
/// entry holding where it ends; the frontier moves over entries as they are marked done. Entries for
/// corrupt stretches and segment ends are added done. Not thread-safe: the queue calls it under its lock.
/// </summary>
public sealed class AckFrontier
{
    // The ring's length stays a power of two (1024, doubled when full), so a slot is found with a mask: this
    // runs for every event read and every event acknowledged, and a division costs several times as much.
    private QueuePosition[] _ends = new QueuePosition[1024];
    private bool[] _done = new bool[1024];
    private long _first; // the sequence number of the oldest entry not yet passed
    private long _next; // the sequence number the next entry gets
    private int _head; // the ring slot of _first

    public AckFrontier(QueuePosition start)
    {
        Position = start;
    }

    /// <summary>Everything before this position is done.</summary>
    public QueuePosition Position { get; private set; }

    /// <summary>Entries handed out and not yet passed.</summary>
    public long Outstanding => _next - _first;

    /// <summary>Adds an entry for a record ending at <paramref name="end"/>, to be marked done later; returns its sequence number.</summary>
    public long Add(QueuePosition end) => Append(end, done: false);

    /// <summary>Adds an entry that is done already (a skipped stretch, a segment's end); returns true when the frontier moved.</summary>
    public bool AddDone(QueuePosition end)
    {
        var before = _first;
        Append(end, done: true);
        return _first != before;
    }

    private long Append(QueuePosition end, bool done)
    {
        var count = (int)(_next - _first);
        if (count == _ends.Length)
        {
            Grow();
        }

        var slot = (_head + count) & (_ends.Length - 1);
        _ends[slot] = end;
        _done[slot] = done;
        var sequence = _next++;
        if (done && count == 0)
        {
            Advance();
        }

        return sequence;
    }

    /// <summary>Marks one entry done; returns true when the frontier moved.</summary>
    public bool MarkDone(long sequence)
    {
        if (sequence < _first || sequence >= _next)
        {
            return false; // passed already, or not ours (a record read before a restart of the reader)
        }

        _done[(_head + (int)(sequence - _first)) & (_ends.Length - 1)] = true;
        return sequence == _first && Advance();
    }

    private bool Advance()
    {
        var moved = false;
        while (_first < _next && _done[_head])
        {
            Position = _ends[_head];
            _done[_head] = false;
            _head = (_head + 1) & (_ends.Length - 1);
            _first++;
            moved = true;
        }

        return moved;
    }

    private void Grow()
    {
        var count = _ends.Length;
        var ends = new QueuePosition[count * 2];
        var done = new bool[count * 2];
        for (var i = 0; i < count; i++)
        {
            ends[i] = _ends[(_head + i) & (count - 1)];
            done[i] = _done[(_head + i) & (count - 1)];
        }

        _ends = ends;
        _done = done;
        _head = 0;
    }
}
