using global::System.Globalization;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>Mount namespace identity: the inode of <c>/proc/&lt;pid&gt;/ns/mnt</c>, as the kernel and quark compare it.</summary>
public static class MountNamespace
{
    /// <summary>Our own mount namespace inode, or 0 when /proc is not readable.</summary>
    public static ulong OfSelf() => Read("/proc/self/ns/mnt");

    /// <summary>The mount namespace inode of <paramref name="pid"/>, or 0 when the process is gone or hidden.</summary>
    public static ulong OfProcess(int pid) =>
        pid > 0 ? Read("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/ns/mnt") : 0;

    private static ulong Read(string path) => NativeFile.Stat(path, out var identity) == 0 ? identity.Inode : 0;
}
