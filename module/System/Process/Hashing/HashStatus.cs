namespace Shipper.Module.System.Process.Hashing;

public enum HashStatus
{
    /// <summary>The digests are there.</summary>
    Hashed,

    /// <summary>
    /// Not hashed by policy, not by failure: hashing is off, no executable, a relative path, or another mount
    /// namespace without <c>other_namespaces</c>. Auditbeat leaves <c>error.message</c> unset for these.
    /// </summary>
    Skipped,

    /// <summary>Could not hash: the file is gone, unreadable, not a regular file, over <c>max_file_size</c>, …</summary>
    Failed,

    /// <summary>The hash was not ready within <c>max_wait</c>; it finishes in the background and fills the cache.</summary>
    TimedOut,
}
