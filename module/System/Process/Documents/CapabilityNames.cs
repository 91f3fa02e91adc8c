namespace Shipper.Module.System.Process.Documents;

/// <summary>Linux capability bit numbers to names (linux/capability.h); unknown bits become <c>CAP_&lt;n&gt;</c>.</summary>
public sealed class CapabilityNames
{
    private static readonly string[] Known =
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    };

    private const int MaxCached = 512;

    // Processes share a handful of capability sets (none, full, a few service profiles): cache the arrays.
    private readonly Dictionary<ulong, string[]> _cache = new();

    /// <summary>Not thread-safe: one instance per mapping thread.</summary>
    public string[] Names(ulong mask)
    {
        if (_cache.TryGetValue(mask, out var names))
        {
            return names;
        }

        names = Decode(mask);
        if (_cache.Count < MaxCached)
        {
            _cache[mask] = names;
        }

        return names;
    }

    public static string[] Decode(ulong mask)
    {
        var result = new string[global::System.Numerics.BitOperations.PopCount(mask)];
        var n = 0;
        for (var bit = 0; bit < 64; bit++)
        {
            if ((mask & (1UL << bit)) != 0)
            {
                result[n++] = bit < Known.Length ? Known[bit] : "CAP_" + bit.ToString(global::System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return result;
    }
}
