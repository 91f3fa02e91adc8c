using Shipper.Module.Monitoring;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>The <c>process.hash.*</c> counters.</summary>
public sealed class HashMetrics
{
    public HashMetrics(MetricsRegistry registry)
    {
        Hits = registry.Counter("process.hash.hits");
        Misses = registry.Counter("process.hash.misses");
        OpenedAtExec = registry.Counter("process.hash.opened_at_exec");
        Changed = registry.Counter("process.hash.changed");
        Evictions = registry.Counter("process.hash.evictions");
        Bytes = registry.Counter("process.hash.bytes");
        TooLarge = registry.Counter("process.hash.too_large");
        Errors = registry.Counter("process.hash.errors");
        Timeouts = registry.Counter("process.hash.timeouts");
    }

    /// <summary>Requests answered from the cache: the file version that ran was hashed before, and nothing was read.</summary>
    public Counter Hits { get; }

    /// <summary>Requests that needed a hash (a file version not cached); shared in-flight hashes included.</summary>
    public Counter Misses { get; }

    /// <summary>Hashes started at the exec itself, through the descriptor opened on <c>/proc/&lt;pid&gt;/exe</c> then.</summary>
    public Counter OpenedAtExec { get; }

    /// <summary>
    /// Requests refused because the executable was replaced, rewritten or removed after the exec before its
    /// content could be read: the document carries no digest rather than the digest of another file.
    /// </summary>
    public Counter Changed { get; }

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
