using System.Globalization;
using Shipper.Module.System.Process.Hashing;

namespace Shipper.Module.System.Process.Users;

/// <summary>
/// An id → name map from a colon-separated database (<c>/etc/passwd</c>, <c>/etc/group</c>: name in field 1, id
/// in field 3). Reloaded when the file's identity (device, inode, size, times, …) changes; the check is one statx,
/// done at most once per recheck interval. The first line for an id wins, as getpwuid does.
/// </summary>
public sealed class IdNameFile
{
    private readonly TimeProvider _time;
    private readonly long _recheckTicks;
    private Dictionary<uint, string> _names = new();
    private FileIdentity? _identity;
    private bool _loaded;
    private long _lastCheck;

    public IdNameFile(string path, TimeProvider time, TimeSpan recheckInterval)
    {
        Path = path;
        _time = time;
        _recheckTicks = (long)(recheckInterval.TotalSeconds * time.TimestampFrequency);
    }

    public string Path { get; }

    /// <summary>How many times the file was (re)read.</summary>
    public int Loads { get; private set; }

    /// <summary>The last problem reading the file, or null.</summary>
    public string? LastError { get; private set; }

    public string? Lookup(uint id)
    {
        Refresh();
        return _names.TryGetValue(id, out var name) ? name : null;
    }

    private void Refresh()
    {
        var now = _time.GetTimestamp();
        if (_loaded && now - _lastCheck < _recheckTicks)
        {
            return;
        }

        _lastCheck = now;
        var identity = FileIdentity.Of(Path);
        if (_loaded && identity == _identity)
        {
            return;
        }

        _loaded = true;
        _identity = identity;
        Loads++;
        if (identity is null)
        {
            _names = new Dictionary<uint, string>();
            LastError = $"cannot stat {Path}";
            return;
        }

        try
        {
            _names = Parse(File.ReadAllLines(Path));
            LastError = null;
        }
        catch (IOException ex)
        {
            LastError = $"cannot read {Path}: {ex.Message}";
        }
        catch (UnauthorizedAccessException ex)
        {
            LastError = $"cannot read {Path}: {ex.Message}";
        }
    }

    public static Dictionary<uint, string> Parse(IEnumerable<string> lines)
    {
        var names = new Dictionary<uint, string>();
        foreach (var line in lines)
        {
            if (line.Length == 0 || line[0] == '#' || line[0] == '+' || line[0] == '-')
            {
                continue;
            }

            var first = line.IndexOf(':');
            if (first <= 0)
            {
                continue;
            }

            var second = line.IndexOf(':', first + 1);
            if (second < 0)
            {
                continue;
            }

            var third = line.IndexOf(':', second + 1);
            var idText = third < 0 ? line.AsSpan(second + 1) : line.AsSpan(second + 1, third - second - 1);
            if (uint.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                names.TryAdd(id, line[..first]);
            }
        }

        return names;
    }
}
