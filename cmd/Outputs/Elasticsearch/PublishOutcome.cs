using Shipper.Module.Registry;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>Collects what became of a batch while its chunks are sent (possibly in parallel).</summary>
internal sealed class PublishOutcome
{
    private readonly object _gate = new();
    private readonly List<Event> _retry = new();
    private int _acked;
    private int _dropped;
    private string? _error;

    /// <summary>Some retry needs a pause first (failures and 429s; not dead-letter rewrites).</summary>
    public bool NeedsBackoff { get; private set; }

    public void Ack(int count)
    {
        lock (_gate)
        {
            _acked += count;
        }
    }

    public void Drop(int count)
    {
        lock (_gate)
        {
            _dropped += count;
        }
    }

    /// <summary>Remembers the latest problem for <see cref="PublishResult.Error"/>.</summary>
    public void Fail(string error)
    {
        lock (_gate)
        {
            _error = error;
        }
    }

    public void Retry(IEnumerable<Event> events, bool backoff)
    {
        lock (_gate)
        {
            _retry.AddRange(events);
            NeedsBackoff |= backoff;
        }
    }

    public PublishResult ToResult()
    {
        lock (_gate)
        {
            return new PublishResult(_acked, _dropped, _retry.Count == 0 ? Array.Empty<Event>() : _retry.ToArray(), _error);
        }
    }
}
