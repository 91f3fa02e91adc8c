namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// What statx says about one version of a file: everything whose change means the content may have changed
/// (device, inode, size, mode, owner, link count, mtime, ctime), and deliberately not atime, which every read
/// of the file may bump.
/// </summary>
public readonly record struct FileIdentity(
    ulong Device,
    ulong Inode,
    long Size,
    uint Mode,
    uint Uid,
    uint Gid,
    uint LinkCount,
    long ModifiedSeconds,
    uint ModifiedNanoseconds,
    long ChangedSeconds,
    uint ChangedNanoseconds)
{
    private const uint FileTypeMask = 0xF000; // S_IFMT
    private const uint RegularFileType = 0x8000; // S_IFREG

    // The cache and the reader's lock-free check hash this on every exec: five fields that tell versions apart
    // are plenty (Equals still compares all of them), and much cheaper than the generated eleven-field hash.
    public override int GetHashCode() => HashCode.Combine(Device, Inode, Size, ModifiedNanoseconds, ChangedNanoseconds);

    /// <summary>statx of <paramref name="path"/> (following symbolic links); returns 0 or the errno.</summary>
    public static int Read(string path, out FileIdentity identity) => NativeFile.Stat(path, out identity);

    /// <summary>statx of <paramref name="path"/> (following symbolic links); null when it cannot be stat'ed (missing, no permission).</summary>
    public static FileIdentity? Of(string path) => NativeFile.Stat(path, out var identity) == 0 ? identity : null;

    public bool IsRegularFile => (Mode & FileTypeMask) == RegularFileType;

    /// <summary>
    /// Same inode, size and mtime: what is left of an identity when the file was only renamed over, unlinked,
    /// re-linked or re-owned (each of which moves ctime and perhaps the link count, never the content).
    /// </summary>
    public bool SameContentAs(in FileIdentity other) =>
        Device == other.Device && Inode == other.Inode && Size == other.Size
        && ModifiedSeconds == other.ModifiedSeconds && ModifiedNanoseconds == other.ModifiedNanoseconds;

    /// <summary>"directory", "symbolic link", … for error messages.</summary>
    public string FileTypeName => (Mode & FileTypeMask) switch
    {
        0x8000 => "regular file",
        0x4000 => "directory",
        0xA000 => "symbolic link",
        0x2000 => "character device",
        0x6000 => "block device",
        0x1000 => "FIFO",
        0xC000 => "socket",
        _ => "file of unknown type",
    };
}
