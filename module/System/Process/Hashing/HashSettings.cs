using global::System.Globalization;
using Shipper.Module.Config;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// <c>process.hash.*</c> of the system module entry: which digests to compute for executables and how much
/// work hashing may do. Parsing validates everything and touches nothing on the system.
/// </summary>
public sealed class HashSettings
{
    public const string Prefix = "process.hash";
    public const long DefaultMaxFileSize = 100L << 20;
    public const long DefaultScanRatePerSec = 50L << 20;
    public const int DefaultCacheSize = 4096;
    public static readonly TimeSpan DefaultMaxWait = TimeSpan.FromSeconds(1);

    public HashSettings(
        IReadOnlyList<HashType> hashTypes,
        long maxFileSize = DefaultMaxFileSize,
        long scanRatePerSec = DefaultScanRatePerSec,
        int cacheSize = DefaultCacheSize,
        bool otherNamespaces = false,
        TimeSpan? maxWait = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFileSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(scanRatePerSec);
        ArgumentOutOfRangeException.ThrowIfLessThan(cacheSize, 1);
        HashTypes = hashTypes;
        MaxFileSize = maxFileSize;
        ScanRatePerSec = scanRatePerSec;
        CacheSize = cacheSize;
        OtherNamespaces = otherNamespaces;
        MaxWait = maxWait ?? DefaultMaxWait;
    }

    /// <summary><c>hash_types</c> in configured order (the order of the digests); empty turns hashing off.</summary>
    public IReadOnlyList<HashType> HashTypes { get; }

    /// <summary><c>max_file_size</c>: larger executables are not hashed. Also the rate limiter's burst.</summary>
    public long MaxFileSize { get; }

    /// <summary><c>scan_rate_per_sec</c> in bytes per second; 0 means unlimited.</summary>
    public long ScanRatePerSec { get; }

    /// <summary><c>cache_size</c>: how many file versions the LRU cache remembers.</summary>
    public int CacheSize { get; }

    /// <summary><c>other_namespaces</c>: hash executables of other mount namespaces through /proc/&lt;pid&gt;/exe.</summary>
    public bool OtherNamespaces { get; }

    /// <summary><c>max_wait</c>: how long a document waits for its hash before it is published without it.</summary>
    public TimeSpan MaxWait { get; }

    public static HashSettings Default { get; } = new([HashType.Sha1]);

    public static HashSettings Parse(ConfigSection moduleEntry)
    {
        var typesKey = Prefix + ".hash_types";
        var names = moduleEntry.StringList(typesKey, ["sha1"]);
        var types = new List<HashType>(names.Count);
        for (var i = 0; i < names.Count; i++)
        {
            if (!HashTypeNames.TryParse(names[i], out var type))
            {
                throw ItemError(moduleEntry, typesKey, i, $"unknown hash type '{names[i]}'; valid types are: {HashTypeNames.ValidNames}");
            }

            if (types.Contains(type))
            {
                throw ItemError(moduleEntry, typesKey, i, $"hash type '{HashTypeNames.Name(type)}' is listed twice");
            }

            types.Add(type);
        }

        var maxFileSize = moduleEntry.Size(Prefix + ".max_file_size", DefaultMaxFileSize, min: 1);
        var scanRate = moduleEntry.Size(Prefix + ".scan_rate_per_sec", DefaultScanRatePerSec, min: 0);
        var cacheSize = moduleEntry.Int(Prefix + ".cache_size", DefaultCacheSize, min: 1, max: 1_000_000);
        var otherNamespaces = moduleEntry.Bool(Prefix + ".other_namespaces", false);
        var maxWait = moduleEntry.Duration(Prefix + ".max_wait", DefaultMaxWait, min: TimeSpan.Zero, max: TimeSpan.FromMinutes(10));
        return new HashSettings(types, maxFileSize, scanRate, cacheSize, otherNamespaces, maxWait);
    }

    /// <summary>
    /// The configured algorithms this platform cannot compute, with the reason; they are left out of every
    /// document. <c>shipper test config</c> prints them.
    /// </summary>
    public IReadOnlyList<UnsupportedHashType> UnsupportedTypes()
    {
        var result = new List<UnsupportedHashType>();
        foreach (var type in HashTypes)
        {
            if (DigestFactory.UnsupportedReason(type) is { } reason)
            {
                result.Add(new UnsupportedHashType(type, reason));
            }
        }

        return result;
    }

    /// <summary>The configured algorithms that will actually be computed, in configured order.</summary>
    public IReadOnlyList<HashType> SupportedTypes()
    {
        var result = new List<HashType>(HashTypes.Count);
        foreach (var type in HashTypes)
        {
            if (DigestFactory.UnsupportedReason(type) is null)
            {
                result.Add(type);
            }
        }

        return result;
    }

    /// <summary>One line for logs and <c>test config</c>.</summary>
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture,
            $"hash_types [{string.Join(", ", HashTypes.Select(HashTypeNames.Name))}], max_file_size {FormatSize(MaxFileSize)}, " +
            $"scan_rate_per_sec {(ScanRatePerSec == 0 ? "unlimited" : FormatSize(ScanRatePerSec))}, cache_size {CacheSize}, " +
            $"other_namespaces {(OtherNamespaces ? "true" : "false")}, max_wait {ValueParsers.FormatDuration(MaxWait)}");

    /// <summary>Bytes as people write them in the config: "100 MiB", "1.5 GiB", "512 B".</summary>
    public static string FormatSize(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? bytes.ToString(CultureInfo.InvariantCulture) + " B"
            : value.ToString(value % 1 == 0 ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    private static ConfigException ItemError(ConfigSection section, string key, int index, string problem)
    {
        var node = section.Find(key);
        var item = node is ConfigList list && index < list.Items.Count ? list.Items[index] : node;
        return item is not null ? item.Error(problem) : section.Error(key, problem);
    }
}
