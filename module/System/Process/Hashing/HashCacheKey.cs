namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// What a cached hash belongs to: a path in our mount namespace, or a device and inode for a file reached
/// through /proc/&lt;pid&gt;/exe (another namespace, or a deleted executable), whose path means nothing here.
/// </summary>
public readonly record struct HashCacheKey(string? Path, ulong Device, ulong Inode)
{
    public static HashCacheKey ForPath(string path) => new(path, 0, 0);

    public static HashCacheKey ForFile(ulong device, ulong inode) => new(null, device, inode);

    public override string ToString() => Path ?? $"device {Device} inode {Inode}";
}
