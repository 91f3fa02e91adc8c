using System.Globalization;
using Shipper.Module.Config;

namespace Shipper.Watchdog;

/// <summary>
/// Decides from successive usage readings of one worker whether it broke a limit (osquery's rules, FACTS §9).
/// CPU: an interval whose user+system time exceeds <c>percent × elapsed × cores</c> is "over"; over-intervals
/// in a row add up, any interval under resets them, and the worker is stopped once they cover
/// <c>latency_limit</c>. Memory: resident size minus the first reading taken after <c>delay</c>. Nothing is
/// judged before <c>delay</c>. Pure logic: times are passed in, so tests need no clock.
/// </summary>
public sealed class WorkerLimitChecker
{
    private readonly WatchdogSettings _settings;
    private readonly int _cores;
    private TimeSpan? _lastAt;
    private TimeSpan _lastCpu;
    private long? _initialFootprint;
    private int _overIntervals;
    private TimeSpan _overDuration;
    private TimeSpan _overCpu;

    public WorkerLimitChecker(WatchdogSettings settings, int cores)
    {
        _settings = settings;
        _cores = Math.Max(1, cores);
    }

    /// <summary>The resident size taken as the worker's baseline, once <c>delay</c> has passed.</summary>
    public long? InitialFootprint => _initialFootprint;

    /// <summary>How long the CPU has been over the limit without a break.</summary>
    public TimeSpan OverDuration => _overDuration;

    public int OverIntervals => _overIntervals;

    /// <summary>Forget the previous worker: a new one starts with no baseline and no sustained count.</summary>
    public void Reset()
    {
        _lastAt = null;
        _lastCpu = TimeSpan.Zero;
        _initialFootprint = null;
        _overIntervals = 0;
        _overDuration = TimeSpan.Zero;
        _overCpu = TimeSpan.Zero;
    }

    /// <summary>Feeds one reading taken <paramref name="sinceStart"/> after the worker started; returns why to stop it, if it must be.</summary>
    public WorkerStopReason? Observe(TimeSpan sinceStart, ProcessUsage usage)
    {
        var previousAt = _lastAt;
        var previousCpu = _lastCpu;
        _lastAt = sinceStart;
        _lastCpu = usage.CpuTime;
        if (sinceStart < _settings.Delay)
        {
            return null;
        }

        if (_initialFootprint is not { } initial)
        {
            _initialFootprint = usage.ResidentBytes;
        }
        else if (usage.ResidentBytes - initial > _settings.MemoryLimitBytes)
        {
            return new WorkerStopReason(WorkerStopKind.Memory, string.Create(CultureInfo.InvariantCulture,
                $"memory {WatchdogSettings.FormatBytes(usage.ResidentBytes)} resident is {WatchdogSettings.FormatBytes(usage.ResidentBytes - initial)} above its initial {WatchdogSettings.FormatBytes(initial)}, over watchdog.memory_limit {_settings.MemoryLimitText}"));
        }

        if (previousAt is not { } lastAt || sinceStart <= lastAt)
        {
            return null;
        }

        var elapsed = sinceStart - lastAt;
        var used = usage.CpuTime - previousCpu;
        var allowed = elapsed * (_settings.UtilizationLimitPercent / 100.0 * _cores);
        if (used > allowed)
        {
            _overIntervals++;
            _overDuration += elapsed;
            _overCpu += used;
        }
        else
        {
            _overIntervals = 0;
            _overDuration = TimeSpan.Zero;
            _overCpu = TimeSpan.Zero;
        }

        if (_overIntervals > 0 && _overDuration >= _settings.LatencyLimit)
        {
            var percent = _overCpu / (_overDuration * _cores) * 100;
            return new WorkerStopReason(WorkerStopKind.Cpu, string.Create(CultureInfo.InvariantCulture,
                $"cpu {percent:0.0}% of {_cores} cores for {_overDuration.TotalSeconds:0.0#}s ({_overIntervals} intervals in a row), over watchdog.utilization_limit {_settings.UtilizationLimitPercent}% for watchdog.latency_limit {ValueParsers.FormatDuration(_settings.LatencyLimit)}"));
        }

        return null;
    }
}
