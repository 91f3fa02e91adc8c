using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Module.System.Process.Enrichment;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// The <see cref="ExecutableHasher"/> behind the enrichment stage's <see cref="IExecutableHashSource"/> seam.
/// The stage applies <c>max_wait</c> itself (from the moment it asked) and counts
/// <c>process.hash.timeouts</c>, so requests here are not time-limited: a late hash still lands in the cache
/// for the next process. A cache hit answers synchronously with a shared result and allocates nothing.
/// </summary>
public sealed class ExecutableHashSource : IExecutableHashSource, IDisposable
{
    private readonly Lazy<ExecutableHasher> _hasher;
    private readonly bool _ownsHasher;
    private readonly Logger _log;

    /// <summary>Over a hasher the caller owns (and disposes).</summary>
    public ExecutableHashSource(ExecutableHasher hasher, Logger log)
    {
        _hasher = new Lazy<ExecutableHasher>(hasher);
        Settings = hasher.Settings;
        _log = log;
    }

    /// <summary>
    /// Creates its hasher at the first request, so that building the dataset (as <c>shipper test config</c>
    /// does) reads nothing from the system and starts no workers. Disposing it stops the hasher.
    /// </summary>
    public ExecutableHashSource(HashSettings settings, MetricsRegistry metrics, TimeProvider time, Logger log)
    {
        Settings = settings;
        _log = log;
        _ownsHasher = true;
        _ = new HashMetrics(metrics); // the counters exist (at zero) before the first process
        _hasher = new Lazy<ExecutableHasher>(() => new ExecutableHasher(settings, metrics, time, log), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public HashSettings Settings { get; }

    /// <summary>Whether the hasher exists yet (its workers run); tests check that building a dataset starts nothing.</summary>
    internal bool HasherStarted => _hasher.IsValueCreated;

    public TimeSpan MaxWait => Settings.MaxWait;

    /// <summary>
    /// For <c>ProcessDataset.Hashes</c>: parses <c>process.hash.*</c> of the module entry (a
    /// <see cref="Config.ConfigException"/> for bad values) and returns null when <c>hash_types</c> is empty.
    /// </summary>
    public static ExecutableHashSource? Create(DatasetContext context)
    {
        var settings = HashSettings.Parse(context.Config);
        return settings.HashTypes.Count == 0
            ? null
            : new ExecutableHashSource(settings, context.Metrics, context.Time, context.Log.Named("hasher"));
    }

    public ValueTask<ExecutableHashResult> HashAsync(ExecutableHashRequest request, CancellationToken cancellationToken)
    {
        var pending = _hasher.Value.RequestAsync(request, cancellationToken);
        return pending.IsCompletedSuccessfully
            ? new ValueTask<ExecutableHashResult>(Convert(pending.Result))
            : AwaitAsync(pending);
    }

    public void HashAtExec(ExecutableHashRequest request) => _hasher.Value.HashAtExec(request);

    public void Dispose()
    {
        if (_ownsHasher && _hasher.IsValueCreated)
        {
            _hasher.Value.Dispose();
        }
    }

    private async ValueTask<ExecutableHashResult> AwaitAsync(ValueTask<HashOutcome> pending) => Convert(await pending.ConfigureAwait(false));

    private ExecutableHashResult Convert(HashOutcome outcome)
    {
        if (outcome.Status == HashStatus.Skipped && _log.IsDebugEnabled)
        {
            _log.Debug(outcome.Message!);
        }

        return outcome.ToHashResult();
    }
}
