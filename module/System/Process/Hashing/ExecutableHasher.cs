using global::System.Buffers;
using global::System.Collections.Concurrent;
using global::System.Globalization;
using global::System.Threading.Channels;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process.Enrichment;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// Hashes process executables once per file version and shares the digests with every process that ran that
/// version. A version is the statx identity (device, inode, size, mode, owner, link count, mtime, ctime) of
/// <c>/proc/&lt;pid&gt;/exe</c> taken at the exec, so a digest is only ever of the file that ran:
/// <list type="bullet">
/// <item><see cref="HashAtExec"/>, called by the event source at the exec, opens <c>/proc/&lt;pid&gt;/exe</c>
/// on a cache miss and starts hashing through that descriptor at once: renaming, deleting or rewriting the
/// path afterwards cannot change what is read.</item>
/// <item>A request (when the document is mapped) is answered from the LRU cache keyed by that identity without
/// touching any file, or waits for the hash already started, or starts one that opens
/// <c>/proc/&lt;pid&gt;/exe</c> (while the process lives) or else the path, and reads it only if its identity
/// still equals the exec-time one.</item>
/// <item>A file whose identity after reading differs from the exec-time one gives no digest, an error that says
/// it changed after the exec, and <c>process.hash.changed</c>.</item>
/// <item>Hashing runs on a small pool of workers (never on the caller's thread), one read feeding every
/// configured digest, paced by the scan-rate token bucket; concurrent requests for one version share one hash.
/// A caller of <see cref="GetAsync"/> waits at most <c>max_wait</c>; the hash still fills the cache.</item>
/// <item>Executables of other mount namespaces are hashed only with <c>other_namespaces</c>, and only through
/// <c>/proc/&lt;pid&gt;/exe</c>: their paths mean nothing here.</item>
/// </list>
/// </summary>
public sealed class ExecutableHasher : IDisposable
{
    public const int DefaultWorkerCount = 2;
    public const int DefaultQueueCapacity = 1024;

    /// <summary>
    /// Most descriptors opened at execs and held by queued hashes: a burst of new executables must not use up the
    /// shipper's file descriptors. Beyond it, a hash opens its file when its turn comes (with the same check).
    /// </summary>
    public const int MaxHeldDescriptors = 256;
    private const int ReadBufferSize = 256 * 1024;
    private const string DeletedSuffix = " (deleted)";

    private readonly HashSettings _settings;
    private readonly HashType[] _types;
    private readonly TimeProvider _time;
    private readonly Logger _log;
    private readonly TokenBucket? _bucket;
    private readonly object _gate = new();
    private readonly HashCache _cache;
    private readonly Dictionary<FileIdentity, HashJob> _inFlight = new();

    // The versions cached or being hashed, readable without a lock: HashAtExec runs on the real-time event
    // reader, which must never wait for _gate while a normal-priority thread holds it (priority inversion on a
    // two-core machine). Written under _gate with every change to _cache and _inFlight.
    private readonly ConcurrentDictionary<FileIdentity, byte> _known = new();
    private readonly Channel<HashJob> _queue;
    private readonly int _queueCapacity;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _workers;
    private readonly HashOutcome? _disabled;
    private int _disposed;
    private readonly int _maxHeldDescriptors;
    private int _heldDescriptors;

    /// <param name="settings">Parsed <c>process.hash.*</c>.</param>
    /// <param name="metrics">Receives the <c>process.hash.*</c> counters.</param>
    /// <param name="time">Drives <c>max_wait</c> and the scan-rate limit.</param>
    /// <param name="log">Selector <c>hasher</c> is a good choice.</param>
    /// <param name="ownMountNamespace">Our mount namespace inode; by default read from /proc/self/ns/mnt.</param>
    public ExecutableHasher(
        HashSettings settings,
        MetricsRegistry metrics,
        TimeProvider time,
        Logger log,
        ulong? ownMountNamespace = null,
        int workerCount = DefaultWorkerCount,
        int queueCapacity = DefaultQueueCapacity,
        int maxHeldDescriptors = MaxHeldDescriptors)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workerCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHeldDescriptors, 0);
        _maxHeldDescriptors = maxHeldDescriptors;
        _settings = settings;
        _time = time;
        _log = log;
        Metrics = new HashMetrics(metrics);
        OwnMountNamespace = ownMountNamespace ?? MountNamespace.OfSelf();
        _cache = new HashCache(settings.CacheSize);
        _queueCapacity = queueCapacity;
        _bucket = settings.ScanRatePerSec > 0 ? new TokenBucket(settings.ScanRatePerSec, settings.MaxFileSize, time) : null;

        foreach (var unsupported in settings.UnsupportedTypes())
        {
            log.Warn($"process.hash.hash_types: {unsupported.Reason}; documents will not carry process.hash.{unsupported.Name}");
        }

        _types = [.. settings.SupportedTypes()];
        if (_types.Length == 0)
        {
            _disabled = HashOutcome.Skipped(settings.HashTypes.Count == 0
                ? "executables are not hashed: process.hash.hash_types is empty"
                : "executables are not hashed: none of process.hash.hash_types is available on this platform");
        }
        else if (OwnMountNamespace == 0)
        {
            log.Warn("cannot read /proc/self/ns/mnt: executables are hashed only through /proc/<pid>/exe when process.hash.other_namespaces is true");
        }

        metrics.GaugeFunc("process.hash.cached", () => { lock (_gate) { return _cache.Count; } });
        metrics.GaugeFunc("process.hash.in_flight", () => { lock (_gate) { return _inFlight.Count; } });

        _queue = Channel.CreateBounded<HashJob>(new BoundedChannelOptions(queueCapacity)
        {
            SingleWriter = false,
            SingleReader = workerCount == 1,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _workers = new Task[_disabled is null ? workerCount : 0];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = Task.Run(() => RunWorkerAsync(_stopping.Token));
        }
    }

    public HashSettings Settings => _settings;

    public HashMetrics Metrics { get; }

    /// <summary>The inode of our own mount namespace (0 when unknown).</summary>
    public ulong OwnMountNamespace { get; }

    /// <summary>Whether any digest will be computed at all.</summary>
    public bool Enabled => _disabled is null;

    public int CachedCount
    {
        get
        {
            lock (_gate)
            {
                return _cache.Count;
            }
        }
    }

    /// <summary>
    /// The digests of the file version the request's process ran. Completes synchronously on a cache hit (no file
    /// access, no allocation) and otherwise within <c>max_wait</c>. Never throws for a missing or odd file;
    /// cancelling <paramref name="cancellationToken"/> abandons the wait, not the hash.
    /// </summary>
    public ValueTask<HashOutcome> GetAsync(ExecutableHashRequest request, CancellationToken cancellationToken = default)
    {
        var ready = Lookup(request, out var job);
        return ready is not null ? new ValueTask<HashOutcome>(ready) : WaitAsync(job!, request.Executable, cancellationToken);
    }

    /// <summary>
    /// As <see cref="GetAsync"/>, but without the <c>max_wait</c> limit: the result comes when the hash is done.
    /// For callers that apply their own wait limit (the process enrichment stage) and count their own timeouts.
    /// </summary>
    public ValueTask<HashOutcome> RequestAsync(ExecutableHashRequest request, CancellationToken cancellationToken = default)
    {
        var ready = Lookup(request, out var job);
        if (ready is not null)
        {
            return new ValueTask<HashOutcome>(ready);
        }

        var task = job!.Completion.Task;
        return new ValueTask<HashOutcome>(cancellationToken.CanBeCanceled ? task.WaitAsync(cancellationToken) : task);
    }

    /// <summary>
    /// Called right after an exec was read: when the version that ran is neither cached nor being hashed, opens
    /// <c>/proc/&lt;pid&gt;/exe</c> now (the descriptor pins that inode, whatever later happens to its path) and
    /// queues its hash. Returns whether it did. A hit costs one dictionary lookup; nothing here blocks or throws,
    /// and anything it cannot do (process gone, queue full) is left to the request, which says why.
    /// </summary>
    public bool HashAtExec(in ExecutableHashRequest request)
    {
        if (_disabled is not null || request.Pid <= 0 || request.Identity is not { } identity
            || !identity.IsRegularFile || identity.Size > _settings.MaxFileSize || string.IsNullOrEmpty(request.Executable))
        {
            return false;
        }

        var permit = Permit(request);
        if (permit is not (HashPermit.ProcOrPath or HashPermit.ProcOnly) || _known.ContainsKey(identity)
            || Volatile.Read(ref _heldDescriptors) >= _maxHeldDescriptors)
        {
            return false;
        }

        var fd = NativeFile.OpenForReading(ProcExePath(request.Pid));
        if (fd < 0)
        {
            return false;
        }

        // The pid may have exec'd again since the sample was read: only the version the request names will do.
        var started = false;
        if (NativeFile.Stat(fd, out var opened) == 0 && opened == identity)
        {
            lock (_gate)
            {
                if (!_cache.TryGet(identity, out _) && !_inFlight.ContainsKey(identity) && Volatile.Read(ref _disposed) == 0)
                {
                    var job = new HashJob(identity, request.Executable, request.Pid, permit == HashPermit.ProcOrPath, fd);
                    if (_queue.Writer.TryWrite(job))
                    {
                        _inFlight.Add(identity, job);
                        _known[identity] = 0;
                        Interlocked.Increment(ref _heldDescriptors);
                        started = true;
                    }
                }
            }
        }

        if (!started)
        {
            NativeFile.Close(fd);
            return false;
        }

        Metrics.OpenedAtExec.Increment();
        return true;
    }

    /// <summary>Answers at once (skip, failure or cache hit), or finds or queues the job whose result will answer.</summary>
    private HashOutcome? Lookup(in ExecutableHashRequest request, out HashJob? job)
    {
        job = null;
        if (_disabled is not null)
        {
            return _disabled;
        }

        var executable = request.Executable;
        var pid = request.Pid;
        if (string.IsNullOrEmpty(executable))
        {
            return HashOutcome.Skipped($"PID {pid} has no executable path: not hashed");
        }

        var permit = Permit(request);
        if (Refusal(permit, request) is { } refused)
        {
            return refused;
        }

        if (request.Identity is not { } identity)
        {
            Metrics.Errors.Increment();
            return HashOutcome.Failed($"cannot hash executable {executable} of PID {pid}: the process exited before /proc/{pid}/exe said which file it ran");
        }

        if (CheckFile(executable, identity) is { } unfit)
        {
            return unfit;
        }

        lock (_gate)
        {
            if (_cache.TryGet(identity, out var entry))
            {
                Metrics.Hits.Increment();
                return entry.Outcome;
            }

            Metrics.Misses.Increment();
            if (!_inFlight.TryGetValue(identity, out job))
            {
                job = new HashJob(identity, executable, pid, permit == HashPermit.ProcOrPath, descriptor: -1);
                if (!_queue.Writer.TryWrite(job))
                {
                    Metrics.Errors.Increment();
                    return HashOutcome.Failed(Volatile.Read(ref _disposed) != 0
                        ? $"executable {executable} not hashed: the hasher is shutting down"
                        : $"executable {executable} not hashed: {_queueCapacity} other executables are waiting to be hashed");
                }

                _inFlight.Add(identity, job);
                _known[identity] = 0;
            }
        }

        return null;
    }

    /// <summary>Where the request's executable may be read from, by its mount namespace and path (allocates nothing).</summary>
    private HashPermit Permit(in ExecutableHashRequest request)
    {
        var mountNamespace = request.MountNamespace;
        if (mountNamespace != 0 && mountNamespace == OwnMountNamespace)
        {
            if (request.Executable[0] != '/')
            {
                return HashPermit.NotAbsolute;
            }

            // A running executable that was deleted or replaced shows as "<path> (deleted)": the path is not it.
            return request.Executable.EndsWith(DeletedSuffix, StringComparison.Ordinal) ? HashPermit.ProcOnly : HashPermit.ProcOrPath;
        }

        // An unknown namespace (0) is not looked up now: by then the pid may belong to another process.
        if (mountNamespace == 0)
        {
            return HashPermit.UnknownNamespace;
        }

        if (!_settings.OtherNamespaces)
        {
            return HashPermit.OtherNamespace;
        }

        return request.Pid > 0 ? HashPermit.ProcOnly : HashPermit.NoPid;
    }

    private HashOutcome? Refusal(HashPermit permit, in ExecutableHashRequest request)
    {
        var executable = request.Executable;
        var pid = request.Pid;
        return permit switch
        {
            HashPermit.NotAbsolute => HashOutcome.Skipped($"executable path '{executable}' of PID {pid} is not absolute: not hashed"),
            HashPermit.UnknownNamespace => HashOutcome.Skipped($"mount namespace of PID {pid} is unknown (the process exited before it was read): {executable} not hashed"),
            HashPermit.OtherNamespace => HashOutcome.Skipped(
                $"PID {pid} runs in another mount namespace (mnt:[{request.MountNamespace}], ours mnt:[{OwnMountNamespace}]): {executable} not hashed; " +
                $"set {HashSettings.Prefix}.other_namespaces: true to hash it through /proc/{pid}/exe"),
            HashPermit.NoPid => HashOutcome.Skipped($"executable {executable} is in another mount namespace and no PID was given: not hashed"),
            _ => null,
        };
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        _stopping.Cancel();
        try
        {
            Task.WaitAll(_workers, TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Workers end by cancellation; anything else was already logged by the worker.
        }

        lock (_gate)
        {
            // Jobs no worker reached still hold the descriptors opened at their execs.
            foreach (var job in _inFlight.Values)
            {
                job.CloseDescriptor();
                job.Completion.TrySetResult(HashOutcome.Failed($"executable {job.Executable} not hashed: the hasher stopped"));
            }

            while (_queue.Reader.TryRead(out var queued))
            {
                queued.CloseDescriptor();
            }

            _inFlight.Clear();
            _known.Clear();
        }

        _stopping.Dispose();
    }

    private async ValueTask<HashOutcome> WaitAsync(HashJob job, string executable, CancellationToken cancellationToken)
    {
        var task = job.Completion.Task;
        if (!task.IsCompleted)
        {
            try
            {
                if (_settings.MaxWait <= TimeSpan.Zero)
                {
                    throw new TimeoutException();
                }

                return await task.WaitAsync(_settings.MaxWait, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Metrics.Timeouts.Increment();
                return HashOutcome.TimedOutAfter(
                    $"hash of executable {executable} was not ready within {HashSettings.Prefix}.max_wait {ValueParsers.FormatDuration(_settings.MaxWait)}: published without it");
            }
        }

        return await task.ConfigureAwait(false);
    }

    private async Task RunWorkerAsync(CancellationToken stopping)
    {
        using var digests = new DigestSet(_types);
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
            {
                while (_queue.Reader.TryRead(out var job))
                {
                    HashOutcome outcome;
                    try
                    {
                        outcome = await HashAsync(job, digests, buffer, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                    {
                        job.Completion.TrySetResult(HashOutcome.Failed($"executable {job.Executable} not hashed: the hasher stopped"));
                        throw;
                    }
                    catch (Exception e)
                    {
                        // A bug, not a file problem: keep the worker alive and say what happened.
                        digests.Reset();
                        Metrics.Errors.Increment();
                        outcome = HashOutcome.Failed($"hashing executable {job.Executable} failed: {e.GetType().Name}: {e.Message}");
                        _log.Error(outcome.Message!);
                    }

                    lock (_gate)
                    {
                        _inFlight.Remove(job.Identity);
                        if (outcome.Status != HashStatus.Hashed)
                        {
                            _known.TryRemove(job.Identity, out _);
                        }
                        else if (_cache.Put(new HashCacheEntry(job.Identity, outcome), out var evicted))
                        {
                            _known.TryRemove(evicted, out _);
                            Metrics.Evictions.Increment();
                        }
                    }

                    job.Completion.TrySetResult(outcome);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask<HashOutcome> HashAsync(HashJob job, DigestSet digests, byte[] buffer, CancellationToken stopping)
    {
        var fd = job.TakeDescriptor();
        var openedAtExec = fd >= 0;
        if (!openedAtExec)
        {
            var failure = OpenExecuted(job, out fd);
            if (failure is not null)
            {
                return failure;
            }
        }

        try
        {
            var size = job.Identity.Size;
            if (_bucket is not null)
            {
                var delay = _bucket.Reserve(size);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
                }
            }

            long offset = 0;
            while (true)
            {
                var read = NativeFile.ReadAt(fd, buffer, offset);
                if (read < 0)
                {
                    digests.Reset();
                    Metrics.Errors.Increment();
                    return HashOutcome.Failed($"cannot read executable {job.Executable} of PID {job.Pid}: {NativeFile.Describe(-read)}");
                }

                if (read == 0)
                {
                    break;
                }

                Metrics.Bytes.Add(read);
                offset += read;
                if (offset > size)
                {
                    break; // it grew: the check below refuses it
                }

                digests.Append(buffer.AsSpan(0, read));
            }

            // What was read is the version that ran only if nothing about the file moved meanwhile.
            var error = NativeFile.Stat(fd, out var after);
            if (error != 0)
            {
                digests.Reset();
                Metrics.Errors.Increment();
                return HashOutcome.Failed($"cannot stat executable {job.Executable} of PID {job.Pid}: {NativeFile.Describe(error)}");
            }

            if (offset != size || !after.SameContentAs(job.Identity))
            {
                digests.Reset();
                return Changed(job, "it was modified while it was being hashed");
            }

            // Only ctime or the links moved: renamed over, unlinked or re-owned. The content is still the one that
            // ran if the process still runs this inode, since the kernel refuses writes to a running executable
            // (ETXTBSY) from the exec on; once it has exited, a rewrite with its mtime put back looks the same.
            if (after != job.Identity && !StillRuns(job))
            {
                digests.Reset();
                return Changed(job, $"it was renamed, unlinked or re-owned while it was being hashed, and PID {job.Pid} no longer runs it");
            }

            return HashOutcome.Hashed(digests.Finish());
        }
        finally
        {
            NativeFile.Close(fd);
            if (openedAtExec)
            {
                Interlocked.Decrement(ref _heldDescriptors);
            }
        }
    }

    /// <summary>
    /// Opens the version that ran, when no descriptor was taken at the exec: <c>/proc/&lt;pid&gt;/exe</c> while the
    /// process lives, else the path (our namespace only), each accepted only when its identity is the exec-time one.
    /// </summary>
    private HashOutcome? OpenExecuted(HashJob job, out int fd)
    {
        var identity = job.Identity;
        var procError = 0;
        var procDiffers = false;
        if (job.Pid > 0)
        {
            var procPath = ProcExePath(job.Pid);
            fd = NativeFile.OpenForReading(procPath);
            if (fd >= 0)
            {
                var statError = NativeFile.Stat(fd, out var opened);

                // The process runs this inode now, so it has since the exec (it cannot go back to an image), and
                // the kernel has refused writes to it all along: only ctime or the links may have moved (the path
                // was renamed over or unlinked). The check after reading makes sure it still runs it then.
                if (statError == 0 && opened.SameContentAs(identity))
                {
                    return null;
                }

                // Same inode with another size or mtime: not the content that ran. Another inode: the pid now runs
                // something else, and the path may still lead to the file.
                procDiffers = statError == 0 && opened.Device == identity.Device && opened.Inode == identity.Inode;
                NativeFile.Close(fd);
            }
            else
            {
                procError = -fd;
            }
        }

        fd = -1;
        if (procDiffers)
        {
            return Changed(job, "its size or mtime are no longer those at the exec");
        }

        if (job.ByPath)
        {
            fd = NativeFile.OpenForReading(job.Executable);
            if (fd < 0)
            {
                var error = -fd;
                if (error == NativeFile.ENoEnt)
                {
                    return Changed(job, $"{job.Executable} was deleted or renamed and PID {job.Pid} has exited");
                }

                Metrics.Errors.Increment();
                return HashOutcome.Failed($"cannot open executable {job.Executable}: {NativeFile.Describe(error)}");
            }

            var statError = NativeFile.Stat(fd, out var current);
            if (statError == 0 && current == identity)
            {
                return null;
            }

            NativeFile.Close(fd);
            fd = -1;
            if (statError != 0)
            {
                Metrics.Errors.Increment();
                return HashOutcome.Failed($"cannot stat executable {job.Executable}: {NativeFile.Describe(statError)}");
            }

            return Changed(job, current.Device == identity.Device && current.Inode == identity.Inode
                ? "its size, times, owner or links are no longer those at the exec"
                : $"{job.Executable} is now another file (inode {current.Inode}, it ran inode {identity.Inode})");
        }

        Metrics.Errors.Increment();
        return HashOutcome.Failed(procError is NativeFile.ENoEnt or NativeFile.ESrch || job.Pid <= 0
            ? $"cannot hash executable {job.Executable} of PID {job.Pid}: the process exited before /proc/{job.Pid}/exe could be read"
            : procError != 0
                ? $"cannot open executable {job.Executable} through /proc/{job.Pid}/exe: {NativeFile.Describe(procError)}"
                : $"cannot hash executable {job.Executable}: PID {job.Pid} ran another executable before it could be read");
    }

    /// <summary>Whether the job's process still runs the exec-time inode (statx through /proc/&lt;pid&gt;/exe).</summary>
    private static bool StillRuns(HashJob job) =>
        job.Pid > 0
        && NativeFile.Stat(ProcExePath(job.Pid), out var now) == 0
        && now.Device == job.Identity.Device && now.Inode == job.Identity.Inode;

    /// <summary>The answer for a file that is no longer the version that ran: no digest rather than another file's.</summary>
    private HashOutcome Changed(HashJob job, string how)
    {
        Metrics.Changed.Increment();
        return HashOutcome.Failed($"executable {job.Executable} of PID {job.Pid} changed after the exec: {how}; not hashed");
    }

    /// <summary>Refuses what must not be read: anything but a regular file, and files over the size limit.</summary>
    private HashOutcome? CheckFile(string executable, in FileIdentity identity)
    {
        if (!identity.IsRegularFile)
        {
            Metrics.Errors.Increment();
            return HashOutcome.Failed($"executable {executable} is a {identity.FileTypeName}, not a regular file: not hashed");
        }

        if (identity.Size > _settings.MaxFileSize)
        {
            Metrics.TooLarge.Increment();
            return HashOutcome.Failed(
                $"executable {executable} is {HashSettings.FormatSize(identity.Size)}, over {HashSettings.Prefix}.max_file_size {HashSettings.FormatSize(_settings.MaxFileSize)}: not hashed");
        }

        return null;
    }

    private static string ProcExePath(int pid) => "/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/exe";
}
