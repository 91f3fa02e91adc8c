using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary>
/// Beats' strict permission check: a config file may steer what runs as root, so it must belong to root or
/// to the user running the shipper and must not be writable by group or others.
/// </summary>
public static class StrictPermissions
{
    public static void Check(string path)
    {
        if (!FileOwnership.TryGet(path, out var owner, out var mode))
        {
            return; // the loader reports a missing or unreadable file with a better message
        }

        var euid = FileOwnership.GetEffectiveUid();
        if (owner != 0 && owner != euid)
        {
            throw new ConfigException("", new SourceLocation(path, 0, 0),
                $"config file {path} must be owned by root or by the user running the shipper (uid {euid}), but is owned by uid {owner} (fix: chown {euid} {path}, or run with --strict.perms=false)");
        }

        if ((mode & 0x12) != 0)
        {
            throw new ConfigException("", new SourceLocation(path, 0, 0),
                $"config file {path} is writable by group or others (mode {Convert.ToString(mode & 0xfff, 8)}); fix: chmod go-w {path} (or run with --strict.perms=false)");
        }
    }
}
