using System.Runtime.InteropServices;
using System.Text;

namespace Shipper.Module.System.Process.Users;

/// <summary>
/// What identifies one version of a file cheaply: device, inode, size and modification time (from
/// <c>statx</c>, whose layout is the same on every architecture). A file replaced by rename gets a new inode;
/// one rewritten in place gets a new mtime or size.
/// </summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode, long Size, long MtimeSeconds, uint MtimeNanoseconds)
{
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7ff;

    /// <summary>Null when the file cannot be stat'ed (missing, no permission).</summary>
    public static unsafe FileIdentity? Of(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        var buffer = stackalloc byte[256];
        fixed (byte* p = bytes)
        {
            if (Statx(AtFdCwd, p, 0, StatxBasicStats, buffer) != 0)
            {
                return null;
            }
        }

        // struct statx: ino @32, size @40, mtime {s64 sec @112, u32 nsec @120}, dev_major @136, dev_minor @140.
        var ino = *(ulong*)(buffer + 32);
        var size = *(long*)(buffer + 40);
        var mtimeSec = *(long*)(buffer + 112);
        var mtimeNsec = *(uint*)(buffer + 120);
        var devMajor = *(uint*)(buffer + 136);
        var devMinor = *(uint*)(buffer + 140);
        return new FileIdentity(((ulong)devMajor << 32) | devMinor, ino, size, mtimeSec, mtimeNsec);
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern unsafe int Statx(int dirfd, byte* path, int flags, uint mask, byte* buffer);
}
