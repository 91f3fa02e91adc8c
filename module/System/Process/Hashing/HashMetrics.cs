using Shipper.Module.Monitoring;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>The <c>process.hash.*</c> counters.</summary>
public sealed class HashMetrics
{
    public HashMetrics(MetricsRegistry registry)
    {
        Hits = registry.Counter("process.hash.hits");
        Misses = registry.Counter("process.hash.misses");
        Invalidations = registry.Counter("process.hash.invalidations");
        Evictions = registry.Counter("process.hash.evictions");
        Bytes = registry.Counter("process.hash.bytes");
        TooLarge = registry.Counter("process.hash.too_large");
        Errors = registry.Counter("process.hash.errors");
        Timeouts = registry.Counter("process.hash.timeouts");
    }

    /// <summary>Requests answered from the cache after a stat showed the file unchanged.</summary>
    public Counter Hits { get; }

    /// <summary>Requests that needed a hash (a new file, or one that changed); shared in-flight hashes included.</summary>
    public Counter Misses { get; }

    /// <summary>Cached entries dropped because the file's identity changed (or it vanished).</summary>
    public Counter Invalidations { get; }

    /// <summary>Entries pushed out of the full cache.</summary>
    public Counter Evictions { get; }

    /// <summary>Bytes read from executables.</summary>
    public Counter Bytes { get; }

    /// <summary>Requests refused because the executable is over <c>max_file_size</c>.</summary>
    public Counter TooLarge { get; }

    /// <summary>Requests that failed for any other reason (gone, unreadable, not a regular file, queue full, …).</summary>
    public Counter Errors { get; }

    /// <summary>Requests that gave up waiting after <c>max_wait</c>.</summary>
    public Counter Timeouts { get; }
}
