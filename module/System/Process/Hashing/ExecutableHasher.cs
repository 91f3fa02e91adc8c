using global::System.Buffers;
using global::System.Globalization;
using global::System.Threading.Channels;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// Hashes process executables once per file version and shares the digests with every process that runs
/// that version.
/// <list type="bullet">
/// <item>A request stats the file (statx) and answers from the LRU cache when device, inode, size, mode,
/// owner, link count, mtime and ctime are unchanged: no content is read.</item>
/// <item>Otherwise the file is hashed on a small pool of workers (never on the caller's thread), one read
/// feeding every configured digest, paced by the scan-rate token bucket; concurrent requests for the same
/// file version share one hash.</item>
/// <item>A caller waits at most <c>max_wait</c>; after that it gets a timed-out answer while the hash
/// finishes in the background and fills the cache for the next process.</item>
/// <item>Only executables in our mount namespace are hashed by path; others only with
/// <c>other_namespaces</c>, through /proc/&lt;pid&gt;/exe, keyed by device and inode.</item>
/// </list>
/// </summary>
public sealed class ExecutableHasher : IDisposable
{
    public const int DefaultWorkerCount = 2;
    public const int DefaultQueueCapacity = 1024;
    private const int ReadBufferSize = 256 * 1024;
    private const string DeletedSuffix = " (deleted)";

    private readonly HashSettings _settings;
    private readonly HashType[] _types;
    private readonly TimeProvider _time;
    private readonly Logger _log;
    private readonly TokenBucket? _bucket;
    private readonly object _gate = new();
    private readonly HashCache _cache;
    private readonly Dictionary<(HashCacheKey Key, FileIdentity Identity), HashJob> _inFlight = new();
    private readonly Channel<HashJob> _queue;
    private readonly int _queueCapacity;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _workers;
    private readonly HashOutcome? _disabled;
    private int _disposed;

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
        int queueCapacity = DefaultQueueCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workerCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCapacity, 1);
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
    /// The digests of <paramref name="executable"/> as run by <paramref name="pid"/>. Completes synchronously
    /// on a cache hit (one statx, no allocation) and otherwise within <c>max_wait</c>. Never throws for a
    /// missing or odd file; cancelling <paramref name="cancellationToken"/> abandons the wait, not the hash.
    /// </summary>
    /// <param name="executable">The executable path (<c>/proc/&lt;pid&gt;/exe</c> target) as the process saw it.</param>
    /// <param name="pid">The process; used for /proc/&lt;pid&gt;/exe and in messages.</param>
    /// <param name="processMountNamespace">Inode of the process's <c>ns/mnt</c>; 0 when the reader could not read it.</param>
    public ValueTask<HashOutcome> GetAsync(string? executable, int pid, ulong processMountNamespace, CancellationToken cancellationToken = default)
    {
        var ready = Lookup(executable, pid, processMountNamespace, out var job);
        return ready is not null ? new ValueTask<HashOutcome>(ready) : WaitAsync(job!, executable!, cancellationToken);
    }

    /// <summary>
    /// As <see cref="GetAsync"/>, but without the <c>max_wait</c> limit: the result comes when the hash is done.
    /// For callers that apply their own wait limit (the process enrichment stage) and count their own timeouts.
    /// </summary>
    public ValueTask<HashOutcome> RequestAsync(string? executable, int pid, ulong processMountNamespace, CancellationToken cancellationToken = default)
    {
        var ready = Lookup(executable, pid, processMountNamespace, out var job);
        if (ready is not null)
        {
            return new ValueTask<HashOutcome>(ready);
        }

        var task = job!.Completion.Task;
        return new ValueTask<HashOutcome>(cancellationToken.CanBeCanceled ? task.WaitAsync(cancellationToken) : task);
    }

    /// <summary>Answers at once (skip, failure or cache hit), or finds or queues the job whose result will answer.</summary>
    private HashOutcome? Lookup(string? executable, int pid, ulong processMountNamespace, out HashJob? job)
    {
        job = null;
        if (_disabled is not null)
        {
            return _disabled;
        }

        if (string.IsNullOrEmpty(executable))
        {
            return HashOutcome.Skipped($"PID {pid} has no executable path: not hashed");
        }

        // An unknown namespace (0) is not looked up now: by then the pid may belong to another process.
        var mountNamespace = processMountNamespace;
        string openPath;
        bool throughProc;
        if (mountNamespace != 0 && mountNamespace == OwnMountNamespace)
        {
            if (executable[0] != '/')
            {
                return HashOutcome.Skipped($"executable path '{executable}' of PID {pid} is not absolute: not hashed");
            }

            // A running executable that was deleted or replaced shows as "<path> (deleted)": only the process
            // still holds the file, so read it through the process.
            throughProc = executable.EndsWith(DeletedSuffix, StringComparison.Ordinal) && pid > 0;
            openPath = throughProc ? ProcExePath(pid) : executable;
        }
        else if (mountNamespace == 0)
        {
            return HashOutcome.Skipped($"mount namespace of PID {pid} is unknown (the process exited before it was read): {executable} not hashed");
        }
        else if (!_settings.OtherNamespaces)
        {
            return HashOutcome.Skipped(
                $"PID {pid} runs in another mount namespace (mnt:[{mountNamespace}], ours mnt:[{OwnMountNamespace}]): {executable} not hashed; " +
                $"set {HashSettings.Prefix}.other_namespaces: true to hash it through /proc/{pid}/exe");
        }
        else if (pid <= 0)
        {
            return HashOutcome.Skipped($"executable {executable} is in another mount namespace and no PID was given: not hashed");
        }
        else
        {
            throughProc = true;
            openPath = ProcExePath(pid);
        }

        var error = NativeFile.Stat(openPath, out var identity);
        if (error != 0)
        {
            if (!throughProc)
            {
                lock (_gate)
                {
                    if (_cache.Remove(HashCacheKey.ForPath(executable)))
                    {
                        Metrics.Invalidations.Increment();
                    }
                }
            }

            Metrics.Errors.Increment();
            return HashOutcome.Failed(throughProc && error == NativeFile.ENoEnt
                ? $"cannot hash executable {executable} of PID {pid}: the process exited before {openPath} could be read"
                : $"cannot stat executable {Describe(executable, openPath)}: {NativeFile.Describe(error)}");
        }

        if (CheckFile(executable, openPath, identity) is { } refused)
        {
            return refused;
        }

        var key = throughProc ? HashCacheKey.ForFile(identity.Device, identity.Inode) : HashCacheKey.ForPath(executable);
        lock (_gate)
        {
            if (_cache.TryGet(key, out var entry))
            {
                if (entry.Identity == identity)
                {
                    Metrics.Hits.Increment();
                    return entry.Outcome;
                }

                _cache.Remove(key);
                Metrics.Invalidations.Increment();
            }

            Metrics.Misses.Increment();
            if (!_inFlight.TryGetValue((key, identity), out job))
            {
                job = new HashJob(key, identity, openPath, executable, pid, throughProc);
                if (!_queue.Writer.TryWrite(job))
                {
                    Metrics.Errors.Increment();
                    return HashOutcome.Failed(Volatile.Read(ref _disposed) != 0
                        ? $"executable {executable} not hashed: the hasher is shutting down"
                        : $"executable {executable} not hashed: {_queueCapacity} other executables are waiting to be hashed");
                }

                _inFlight.Add((key, identity), job);
            }
        }

        return null;
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
            foreach (var job in _inFlight.Values)
            {
                job.Completion.TrySetResult(HashOutcome.Failed($"executable {job.Executable} not hashed: the hasher stopped"));
            }

            _inFlight.Clear();
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
                    FileIdentity hashedIdentity = default;
                    try
                    {
                        (outcome, hashedIdentity) = await HashAsync(job, digests, buffer, stopping).ConfigureAwait(false);
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
                        if (outcome.Status == HashStatus.Hashed && _cache.Put(new HashCacheEntry(job.Key, hashedIdentity, outcome)))
                        {
                            Metrics.Evictions.Increment();
                        }

                        _inFlight.Remove((job.Key, job.Identity));
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

    private async ValueTask<(HashOutcome Outcome, FileIdentity Identity)> HashAsync(HashJob job, DigestSet digests, byte[] buffer, CancellationToken stopping)
    {
        var fd = NativeFile.OpenForReading(job.OpenPath);
        if (fd < 0)
        {
            Metrics.Errors.Increment();
            return (HashOutcome.Failed(job.ThroughProc && -fd == NativeFile.ENoEnt
                ? $"cannot hash executable {job.Executable} of PID {job.Pid}: the process exited before {job.OpenPath} could be read"
                : $"cannot open executable {Describe(job.Executable, job.OpenPath)}: {NativeFile.Describe(-fd)}"), default);
        }

        try
        {
            // Whatever the path showed when the request was made, what counts is the file this descriptor reads.
            var error = NativeFile.Stat(fd, out var before);
            if (error != 0)
            {
                Metrics.Errors.Increment();
                return (HashOutcome.Failed($"cannot stat executable {Describe(job.Executable, job.OpenPath)}: {NativeFile.Describe(error)}"), default);
            }

            if (job.ThroughProc && (before.Device != job.Identity.Device || before.Inode != job.Identity.Inode))
            {
                Metrics.Errors.Increment();
                return (HashOutcome.Failed($"cannot hash executable {job.Executable}: PID {job.Pid} ran another executable before it could be read"), default);
            }

            // A file that changes while it is read gives a digest of no version at all: read it again.
            for (var attempt = 0; attempt < 3; attempt++)
            {
                if (CheckFile(job.Executable, job.OpenPath, before) is { } refused)
                {
                    return (refused, default);
                }

                if (_bucket is not null)
                {
                    var delay = _bucket.Reserve(before.Size);
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
                        return (HashOutcome.Failed($"cannot read executable {Describe(job.Executable, job.OpenPath)}: {NativeFile.Describe(-read)}"), default);
                    }

                    if (read == 0)
                    {
                        break;
                    }

                    Metrics.Bytes.Add(read);
                    offset += read;
                    if (offset > _settings.MaxFileSize)
                    {
                        break;
                    }

                    digests.Append(buffer.AsSpan(0, read));
                }

                error = NativeFile.Stat(fd, out var after);
                if (error == 0 && after == before && offset == before.Size)
                {
                    return (HashOutcome.Hashed(digests.Finish()), before);
                }

                digests.Reset();
                if (error != 0)
                {
                    Metrics.Errors.Increment();
                    return (HashOutcome.Failed($"cannot stat executable {Describe(job.Executable, job.OpenPath)}: {NativeFile.Describe(error)}"), default);
                }

                before = after;
            }

            Metrics.Errors.Increment();
            return (HashOutcome.Failed($"executable {job.Executable} kept changing while it was being hashed: not hashed"), default);
        }
        finally
        {
            NativeFile.Close(fd);
        }
    }

    /// <summary>Refuses what must not be read: anything but a regular file, and files over the size limit.</summary>
    private HashOutcome? CheckFile(string executable, string openPath, in FileIdentity identity)
    {
        if (!identity.IsRegularFile)
        {
            Metrics.Errors.Increment();
            return HashOutcome.Failed($"executable {Describe(executable, openPath)} is a {identity.FileTypeName}, not a regular file: not hashed");
        }

        if (identity.Size > _settings.MaxFileSize)
        {
            Metrics.TooLarge.Increment();
            return HashOutcome.Failed(
                $"executable {Describe(executable, openPath)} is {HashSettings.FormatSize(identity.Size)}, over {HashSettings.Prefix}.max_file_size {HashSettings.FormatSize(_settings.MaxFileSize)}: not hashed");
        }

        return null;
    }

    private static string Describe(string executable, string openPath) =>
        ReferenceEquals(executable, openPath) || executable == openPath ? executable : $"{executable} (through {openPath})";

    private static string ProcExePath(int pid) => "/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/exe";
}
