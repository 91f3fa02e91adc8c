using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace Shipper.Publisher.Disk;

/// <summary>
/// <c>state.dat</c>: where the first event the output has not acknowledged sits. Rewritten in place (28 bytes,
/// one sector) after acknowledgements, with a checksum; a stale file only means duplicates after a restart,
/// because acknowledged events are sent again, never skipped. Not thread-safe: the queue calls it under its lock.
/// </summary>
public sealed class QueueStateFile : IDisposable
{
    public const string Name = "state.dat";

    private const uint Magic = 0x54514853; // "SHQT"
    private const uint Version = 1;
    private const int Size = 28;

    private readonly SafeFileHandle _file;
    private QueuePosition _written = new(-1, -1);

    private QueueStateFile(SafeFileHandle file)
    {
        _file = file;
    }

    /// <summary>Opens (or creates) the file and reads the saved position; null when there is none or it is damaged.</summary>
    public static QueueStateFile Open(string directory, out QueuePosition? saved, out string? problem)
    {
        var path = Path.Combine(directory, Name);
        SafeFileHandle file;
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock): two shippers writing one queue would
            // interleave their records and delete each other's segments. The lock dies with its process.
            QueueDirectory.CreatePrivateFile(path, mustBeNew: false);
            file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (File.Exists(path))
        {
            throw new Module.Config.ConfigException("queue.disk.path", Module.Config.SourceLocation.None,
                $"the disk queue at {directory} is in use by another shipper process ({e.Message}); give each shipper its own queue.disk.path");
        }

        // One left by hand or by an older copy with a wider mode is tightened too.
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        saved = null;
        problem = null;
        Span<byte> buffer = stackalloc byte[Size];
        var read = RandomAccess.Read(file, buffer, 0);
        if (read == 0)
        {
            return new QueueStateFile(file);
        }

        if (read < Size
            || BinaryPrimitives.ReadUInt32LittleEndian(buffer) != Magic
            || BinaryPrimitives.ReadUInt32LittleEndian(buffer[4..]) != Version
            || Crc32.HashToUInt32(buffer[..24]) != BinaryPrimitives.ReadUInt32LittleEndian(buffer[24..]))
        {
            problem = $"{path} is damaged";
            return new QueueStateFile(file);
        }

        var position = new QueuePosition(BinaryPrimitives.ReadInt64LittleEndian(buffer[8..]), BinaryPrimitives.ReadInt64LittleEndian(buffer[16..]));
        if (position.Segment < 0 || position.Offset < 0)
        {
            problem = $"{path} holds an impossible position ({position.Segment}, {position.Offset})";
            return new QueueStateFile(file);
        }

        saved = position;
        return new QueueStateFile(file) { _written = position };
    }

    public void Write(QueuePosition position)
    {
        if (position == _written)
        {
            return;
        }

        Span<byte> buffer = stackalloc byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[4..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[8..], position.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[16..], position.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[24..], Crc32.HashToUInt32(buffer[..24]));
        RandomAccess.Write(_file, buffer, 0);
        _written = position;
    }

    public void Sync() => RandomAccess.FlushToDisk(_file);

    public void Dispose() => _file.Dispose();
}
