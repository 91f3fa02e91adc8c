namespace Shipper.Module.System.Process.Users;

/// <summary>
/// User and group names for ids, from local files (default <c>/etc/passwd</c> and <c>/etc/group</c>), noticing
/// when they change. Names served by NSS modules (LDAP, sssd) are not seen. Thread-safe.
/// </summary>
public sealed class UserDirectory
{
    public static readonly TimeSpan DefaultRecheckInterval = TimeSpan.FromSeconds(1);

    private readonly object _gate = new();
    private readonly IdNameFile _users;
    private readonly IdNameFile _groups;

    public UserDirectory(TimeProvider time, string passwdPath = "/etc/passwd", string groupPath = "/etc/group", TimeSpan? recheckInterval = null)
    {
        var interval = recheckInterval ?? DefaultRecheckInterval;
        _users = new IdNameFile(passwdPath, time, interval);
        _groups = new IdNameFile(groupPath, time, interval);
    }

    public IdNameFile Users => _users;

    public IdNameFile Groups => _groups;

    public string? UserName(uint uid)
    {
        lock (_gate)
        {
            return _users.Lookup(uid);
        }
    }

    public string? GroupName(uint gid)
    {
        lock (_gate)
        {
            return _groups.Lookup(gid);
        }
    }
}
