using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary>
/// path.data and path.logs as strict permissions see them: created 0700 when missing (libbeat creates its data
/// path private too), and an existing one that another user could plant files in (writable by group or
/// others, or owned by a user other than root and the one running the shipper) is refused when
/// <c>strict.perms</c> is on, as a config file is, and warned about when it is off. Whoever can write there
/// could swap the shipper's files for links to files root then appends to, chmods or overwrites.
/// </summary>
public static class PrivateDirectory
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Checks the directory and creates it when missing (unless <paramref name="create"/> is false).</summary>
    /// <param name="setting">The setting that names it (<c>path.data</c>, <c>path.logs</c>, <c>logging.files.path</c>), for the message.</param>
    /// <param name="warnings">Where the problem goes when <paramref name="strict"/> is off.</param>
    public static void Prepare(string path, string setting, bool strict, bool create, ICollection<string> warnings)
    {
        if (!Directory.Exists(path))
        {
            if (!create)
            {
                return;
            }

            try
            {
                Directory.CreateDirectory(path, OwnerOnly);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException(setting, SourceLocation.None, $"cannot create {setting} {path}: {e.Message}");
            }
        }

        if (Problem(path, setting) is not { } problem)
        {
            return;
        }

        if (strict)
        {
            throw new ConfigException(setting, SourceLocation.None, problem + " (or run with --strict.perms=false)");
        }

        warnings.Add(problem + "; running anyway because strict.perms is off");
    }

    /// <summary>What is wrong with the directory, or null when only root and the shipper's user can write in it.</summary>
    public static string? Problem(string path, string setting)
    {
        if (!FileOwnership.TryGet(path, out var owner, out var mode))
        {
            return null; // opening the files in it reports a missing or unreadable directory better
        }

        var euid = FileOwnership.GetEffectiveUid();
        if (owner != 0 && owner != euid)
        {
            return $"{setting} {path} is owned by uid {owner}, not by root or the user running the shipper (uid {euid}), who could swap the shipper's files in it for links to other files (fix: chown {euid} {path})";
        }

        if ((mode & 0x12) != 0)
        {
            return $"{setting} {path} is writable by group or others (mode {Convert.ToString(mode & 0xfff, 8)}), who could swap the shipper's files in it for links to other files (fix: chmod go-w {path})";
        }

        return null;
    }
}
