namespace Shipper.Publisher.Disk;

/// <summary>
/// One segment file as the queue tracks it. The writer sets <see cref="Size"/> after each write, once the
/// bytes are in the file, and <see cref="Sealed"/> when it moves to the next segment; the reader reads up to
/// <see cref="Size"/>, and knows the size is final once it has seen <see cref="Sealed"/>.
/// </summary>
public sealed class Segment
{
    private long _size;
    private volatile bool _sealed;

    public Segment(long id, string path, long size, bool isSealed, bool fromEarlierRun)
    {
        Id = id;
        Path = path;
        _size = size;
        _sealed = isSealed;
        FromEarlierRun = fromEarlierRun;
    }

    public long Id { get; }

    public string Path { get; }

    /// <summary>Written by a run before this one: its end may be torn and anything in it may be damaged.</summary>
    public bool FromEarlierRun { get; }

    public long Size
    {
        get => Volatile.Read(ref _size);
        set => Volatile.Write(ref _size, value);
    }

    public bool Sealed
    {
        get => _sealed;
        set => _sealed = value;
    }
}
