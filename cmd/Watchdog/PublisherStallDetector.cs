using System.Globalization;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Watchdog;

/// <summary>
/// The publisher watchdog inside the worker: when events sit in the queue but nothing has been acknowledged
/// for <c>watchdog.publisher_stall</c>, it logs the stall with the output's last error, counts it in
/// <c>watchdog.stalls</c> and, with <c>watchdog.publisher_stall_exit</c>, asks the worker to exit with
/// <see cref="WorkerExitCodes.PublisherStalled"/> so that the watcher starts a fresh one. A quiet host (empty
/// queue) is never a stall: the clock runs from the later of the last ack and the moment events were first
/// seen waiting.
/// </summary>
public sealed class PublisherStallDetector : IDisposable
{
    private readonly IPublisherProgress _publisher;
    private readonly TimeSpan _stallAfter;
    private readonly bool _exitOnStall;
    private readonly Logger _log;
    private readonly Counter _stalls;
    private readonly Action<int>? _requestExit;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private ITimer? _timer;
    private DateTimeOffset _lastAck;
    private DateTimeOffset? _waitingSince;
    private DateTimeOffset _stalledAt;
    private bool _stalled;

    public PublisherStallDetector(IPublisherProgress publisher, TimeSpan stallAfter, bool exitOnStall, Logger log, Counter stalls, Action<int>? requestExit, TimeProvider time)
    {
        _publisher = publisher;
        _stallAfter = stallAfter;
        _exitOnStall = exitOnStall;
        _log = log;
        _stalls = stalls;
        _requestExit = requestExit;
        _time = time;
        _lastAck = publisher.LastAck;
    }

    public bool IsStalled
    {
        get
        {
            lock (_gate)
            {
                return _stalled;
            }
        }
    }

    /// <summary>How often <see cref="Check"/> runs once started: a tenth of the stall time, within 50 ms … 5 s.</summary>
    public TimeSpan CheckPeriod
    {
        get
        {
            var period = _stallAfter / 10;
            return period < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50)
                : period > TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5)
                : period;
        }
    }

    public void Start()
    {
        _timer ??= _time.CreateTimer(static state => ((PublisherStallDetector)state!).Check(), this, CheckPeriod, CheckPeriod);
    }

    /// <summary>One look at the publisher; returns whether it is stalled now.</summary>
    public bool Check()
    {
        var queued = _publisher.ActiveEvents;
        var lastAck = _publisher.LastAck;
        var exit = false;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (lastAck > _lastAck)
            {
                _lastAck = lastAck;
                Recover(now, "acknowledgements resumed");
            }

            if (queued <= 0)
            {
                _waitingSince = null;
                Recover(now, "the queue emptied");
                return false;
            }

            _waitingSince ??= now;
            var since = _lastAck > _waitingSince.Value ? _lastAck : _waitingSince.Value;
            var waited = now - since;
            if (!_stalled && waited >= _stallAfter)
            {
                _stalled = true;
                _stalledAt = now;
                _stalls.Increment();
                _log.Warn(string.Create(CultureInfo.InvariantCulture,
                    $"publisher stalled: {queued} events queued and no acknowledgement for {waited.TotalSeconds:0.#}s (watchdog.publisher_stall {ValueParsers.FormatDuration(_stallAfter)}); output's last error: {_publisher.LastOutputError ?? "none reported"}"));
                exit = _exitOnStall && _requestExit is not null;
            }
        }

        if (exit)
        {
            _log.Warn($"publisher stalled: exiting with code {WorkerExitCodes.PublisherStalled} so that the watcher starts a fresh worker (watchdog.publisher_stall_exit)");
            _requestExit!(WorkerExitCodes.PublisherStalled);
        }

        return IsStalled;
    }

    public void Dispose() => _timer?.Dispose();

    private void Recover(DateTimeOffset now, string how)
    {
        if (_stalled)
        {
            _stalled = false;
            _log.Info(string.Create(CultureInfo.InvariantCulture, $"publisher recovered: {how} {(now - _stalledAt).TotalSeconds:0.#}s after the stall was reported"));
        }
    }
}
