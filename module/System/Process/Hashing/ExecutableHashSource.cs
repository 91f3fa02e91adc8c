using Shipper.Module.Logging;
using Shipper.Module.System.Process.Enrichment;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// The <see cref="ExecutableHasher"/> behind the enrichment stage's <see cref="IExecutableHashSource"/> seam.
/// The stage applies <c>max_wait</c> itself (from the moment it asked) and counts
/// <c>process.hash.timeouts</c>, so requests here are not time-limited: a late hash still lands in the cache
/// for the next process. A cache hit answers synchronously with a shared result and allocates nothing.
/// </summary>
public sealed class ExecutableHashSource : IExecutableHashSource
{
    private readonly ExecutableHasher _hasher;
    private readonly Logger _log;

    public ExecutableHashSource(ExecutableHasher hasher, Logger log)
    {
        _hasher = hasher;
        _log = log;
    }

    public TimeSpan MaxWait => _hasher.Settings.MaxWait;

    public ValueTask<ExecutableHashResult> HashAsync(ExecutableHashRequest request, CancellationToken cancellationToken)
    {
        var pending = _hasher.RequestAsync(request.Executable, request.Pid, request.MountNamespace, cancellationToken);
        return pending.IsCompletedSuccessfully
            ? new ValueTask<ExecutableHashResult>(Convert(pending.Result))
            : AwaitAsync(pending);
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
