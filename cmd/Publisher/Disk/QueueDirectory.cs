using System.Globalization;
using Shipper.Config;
using Shipper.Module.Config;

namespace Shipper.Publisher.Disk;

/// <summary>
/// The queue's directory: created private (0700) when missing, refused when someone else could plant or
/// swap files in it (owned by another user, writable by group or others, or a symbolic link), as strict
/// permissions refuse a config file. Segment files are named <c>&lt;id&gt;.seg</c>.
/// </summary>
public static class QueueDirectory
{
    public const string SegmentSuffix = ".seg";

    /// <summary>
    /// Checks an existing directory without changing anything (for <c>test config</c> and the watcher, which must
    /// not touch path.data); a missing one is fine, the worker creates it.
    /// </summary>
    public static void CheckIfPresent(string path)
    {
        if (Directory.Exists(path) || new DirectoryInfo(path).LinkTarget is not null)
        {
            Prepare(path);
        }
    }

    public static void Prepare(string path)
    {
        try
        {
            var info = new DirectoryInfo(path);
            if (info.LinkTarget is not null)
            {
                throw Refuse(path, $"queue.disk.path {path} is a symbolic link (to {info.LinkTarget}); give the real directory");
            }

            if (!info.Exists)
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Refuse(path, $"cannot create the disk queue directory {path}: {e.Message}");
        }

        if (!FileOwnership.TryGet(path, out var owner, out var mode))
        {
            throw Refuse(path, $"cannot read the owner of the disk queue directory {path}");
        }

        var euid = FileOwnership.GetEffectiveUid();
        if (owner != euid)
        {
            throw Refuse(path, $"the disk queue directory {path} is owned by uid {owner}, not by the user running the shipper (uid {euid}); another user could change the queued events (fix: chown {euid} {path})");
        }

        if ((mode & 0x12) != 0)
        {
            throw Refuse(path, $"the disk queue directory {path} is writable by group or others (mode {Convert.ToString(mode & 0xfff, 8)}); fix: chmod go-w {path}");
        }
    }

    /// <summary>The segment ids in the directory, oldest first; other files are left alone.</summary>
    public static List<long> ListSegments(string path)
    {
        var ids = new List<long>();
        foreach (var file in Directory.EnumerateFiles(path, "*" + SegmentSuffix))
        {
            var name = System.IO.Path.GetFileName(file);
            if (long.TryParse(name.AsSpan(0, name.Length - SegmentSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                ids.Add(id);
            }
        }

        ids.Sort();
        return ids;
    }

    /// <summary>
    /// Creates <paramref name="path"/> 0600 from the first instant (created with the default mode and then
    /// changed, it would be readable by others for a moment in a directory that lets them in) unless it exists.
    /// </summary>
    public static void CreatePrivateFile(string path, bool mustBeNew)
    {
        if (!mustBeNew && File.Exists(path))
        {
            return;
        }

        using var created = new FileStream(path, new FileStreamOptions
        {
            Mode = mustBeNew ? FileMode.CreateNew : FileMode.OpenOrCreate,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            BufferSize = 0,
        });
    }

    public static string SegmentPath(string directory, long id) =>
        System.IO.Path.Combine(directory, id.ToString(CultureInfo.InvariantCulture) + SegmentSuffix);

    private static ConfigException Refuse(string path, string problem) => new("queue.disk.path", SourceLocation.None, problem);
}
