using System.Runtime.InteropServices;

namespace Shipper.Config;

/// <summary>Owner and mode of a file, via statx(2) (its layout is the same on every architecture).</summary>
public static partial class FileOwnership
{
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7ff;

    public static bool TryGet(string path, out uint ownerUid, out uint mode)
    {
        Span<byte> buffer = stackalloc byte[256];
        unsafe
        {
            fixed (byte* p = buffer)
            {
                if (Statx(AtFdCwd, path, 0, StatxBasicStats, p) != 0)
                {
                    ownerUid = 0;
                    mode = 0;
                    return false;
                }
            }
        }

        // struct statx: u32 mask, u32 blksize, u64 attributes, u32 nlink, u32 uid, u32 gid, u16 mode.
        ownerUid = BitConverter.ToUInt32(buffer[20..24]);
        mode = BitConverter.ToUInt16(buffer[28..30]);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUid();
}
