namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// The scan-rate limit: a token bucket of bytes, refilled at <c>scan_rate_per_sec</c>, holding at most
/// <c>max_file_size</c> (Auditbeat's burst) and full at start. A file reserves its whole size before it is
/// read; the reservation may drive the balance negative, and the caller waits until it is paid back, so
/// concurrent readers queue fairly behind one another. Any file within the size limit fits the burst.
/// </summary>
public sealed class TokenBucket
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly double _bytesPerSecond;
    private readonly double _capacity;
    private double _tokens;
    private long _lastTimestamp;

    public TokenBucket(long bytesPerSecond, long capacity, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _bytesPerSecond = bytesPerSecond;
        _capacity = capacity;
        _time = time;
        _tokens = capacity;
        _lastTimestamp = time.GetTimestamp();
    }

    /// <summary>Takes <paramref name="bytes"/> now and returns how long the caller must wait before reading them.</summary>
    public TimeSpan Reserve(long bytes)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            var elapsed = _time.GetElapsedTime(_lastTimestamp, now);
            _lastTimestamp = now;
            _tokens = Math.Min(_capacity, _tokens + (elapsed.TotalSeconds * _bytesPerSecond));
            _tokens -= bytes;
            return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / _bytesPerSecond);
        }
    }
}
