using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Shipper.Config;

/// <summary>Owner and mode of a file, via statx(2) (its layout is the same on every architecture).</summary>
public static partial class FileOwnership
{
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7ff;
    private const int AtEmptyPath = 0x1000;

    /// <summary>The file type bits of a mode (S_IFMT) and the type of a regular file (S_IFREG).</summary>
    public const uint TypeMask = 0xf000;
    public const uint RegularFile = 0x8000;

    public static bool TryGet(string path, out uint ownerUid, out uint mode) => TryGet(AtFdCwd, path, 0, out ownerUid, out mode, out _);

    /// <summary>Owner, mode (with the type bits) and size of an open file: the file actually opened, not what its path names now.</summary>
    public static bool TryGet(SafeFileHandle file, out uint ownerUid, out uint mode, out long size)
    {
        var added = false;
        file.DangerousAddRef(ref added);
        try
        {
            return TryGet((int)file.DangerousGetHandle(), "", AtEmptyPath, out ownerUid, out mode, out size);
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    private static bool TryGet(int dirfd, string path, int flags, out uint ownerUid, out uint mode, out long size)
    {
        Span<byte> buffer = stackalloc byte[256];
        unsafe
        {
            fixed (byte* p = buffer)
            {
                if (Statx(dirfd, path, flags, StatxBasicStats, p) != 0)
                {
                    ownerUid = 0;
                    mode = 0;
                    size = 0;
                    return false;
                }
            }
        }

        // struct statx: u32 mask, u32 blksize, u64 attributes, u32 nlink, u32 uid, u32 gid, u16 mode, …, u64 size at 40.
        ownerUid = BitConverter.ToUInt32(buffer[20..24]);
        mode = BitConverter.ToUInt16(buffer[28..30]);
        size = BitConverter.ToInt64(buffer[40..48]);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUid();
}
