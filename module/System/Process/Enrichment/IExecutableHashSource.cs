namespace Shipper.Module.System.Process.Enrichment;

/// <summary>
/// The seam for executable hashes (implemented by the hasher, issue 4). The document stage calls
/// <see cref="HashAsync"/> once for every document whose process has an absolute executable path, right after
/// mapping it, and keeps mapping further documents while the hash is computed; it waits for each result at most
/// <see cref="MaxWait"/> (counted from the call) before publishing the document without hashes.
/// </summary>
public interface IExecutableHashSource
{
    /// <summary><c>process.hash.max_wait</c>: how long a document may wait for its hashes.</summary>
    TimeSpan MaxWait { get; }

    /// <summary>
    /// Returns the digests of the request's executable. Must not block the caller: return a completed task on a
    /// cache hit, otherwise queue the work on the hasher's own bounded workers. The caller may stop waiting after
    /// <see cref="MaxWait"/> (it then cancels <paramref name="cancellationToken"/> only at shutdown, not on timeout),
    /// so a late result is simply dropped. Decides itself whether the file may be hashed (mount namespace, size,
    /// regular file) and says why not in <see cref="ExecutableHashResult.Error"/>, or returns
    /// <see cref="ExecutableHashResult.None"/> when skipping is not an error. Exceptions are reported as hash errors.
    /// </summary>
    ValueTask<ExecutableHashResult> HashAsync(ExecutableHashRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Called by the event source right after it read an exec, while <c>/proc/&lt;pid&gt;/exe</c> still leads to
    /// the file that ran: on a cache miss, opens that file now and starts hashing it, so that a file replaced or
    /// rewritten after the exec cannot lend its digest to the process. A hit costs a dictionary lookup. Must not
    /// block or throw: the caller is the kernel event reader.
    /// </summary>
    void HashAtExec(ExecutableHashRequest request);
}
