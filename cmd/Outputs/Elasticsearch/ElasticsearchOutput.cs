using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Text;
using Shipper.Events;
using Shipper.IndexManagement;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// Ships documents to Elasticsearch with <c>_bulk</c> <c>create</c> requests, as libbeat does.
/// <para>
/// Per item (<see cref="BulkItemTriage"/>): 2xx acked; 409 a duplicate (acked); 429, 5xx and malformed items
/// retried with backoff; any other 4xx goes to the non-indexable policy (dropped and counted, or rewritten into
/// the dead-letter index). A reply is read within <see cref="ReplyLimit.ForBulk"/>. HTTP 413 halves
/// the request until it fits; connection errors and other statuses mark the host down (exponential backoff
/// with jitter, 401/403 straight to <c>backoff.max</c>) and the batch moves to the next ready host.
/// </para>
/// <para>
/// Nothing is lost while the shipper runs: whatever is not confirmed comes back in
/// <see cref="PublishResult.Retry"/> after the backoff. <c>max_retries</c> only limits per-item 5xx answers
/// for the same event (a document the cluster keeps failing on); it never applies to an unreachable or
/// overloaded cluster. On cancellation (shutdown) unconfirmed events are returned as Retry at once.
/// </para>
/// PublishAsync may be called concurrently (up to <see cref="Concurrency"/> requests are in flight);
/// batches above <c>bulk_max_size</c> are split and their parts sent in parallel.
/// </summary>
public sealed class ElasticsearchOutput : IOutput
{
    private const string FilterPath = "filter_path=errors,items.*.error,items.*.status";

    private readonly ElasticsearchSettings _settings;
    private readonly DocumentWriter _documents;
    private readonly OutputMetrics _metrics;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private readonly ElasticsearchTransport _transport;
    private readonly HostState[] _hosts;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentBag<BulkEncoder> _encoders = new();
    private readonly ConditionalWeakTable<Event, DeadLetterMark> _deadLetters = new();
    private readonly BulkItemTriage _triage;
    private readonly Func<string, string?> _constantFields;
    private readonly IndexSetupOnConnect _indexSetup;
    private readonly object _gate = new();
    private int _next;
    private int _current;

    /// <param name="ilm"><c>setup.ilm</c>; null for none (tests and benchmarks that do not look at index management).</param>
    public ElasticsearchOutput(
        ElasticsearchSettings settings,
        TemplateSettings template,
        DocumentWriter documents,
        MetricsRegistry metrics,
        Logger log,
        TimeProvider time,
        IlmSettings? ilm = null)
    {
        _settings = settings;
        _documents = documents;
        _metrics = new OutputMetrics(metrics);
        _log = log;
        _time = time;
        // First: it may refuse the settings, and nothing is open yet to be left undisposed.
        _indexSetup = new IndexSetupOnConnect(template, ilm ?? IlmSettings.Disabled, log, documents.Agent.Version);
        _transport = new ElasticsearchTransport(settings, _metrics, time);
        _triage = new BulkItemTriage(settings, _metrics, log, _deadLetters);
        _constantFields = EventFormatter.ConstantFields(documents);
        _slots = new SemaphoreSlim(settings.Concurrency, settings.Concurrency);

        var query = new StringBuilder(FilterPath);
        foreach (var (key, value) in settings.Parameters)
        {
            query.Append('&').Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
        }

        _hosts = new HostState[settings.Hosts.Count];
        for (var i = 0; i < _hosts.Length; i++)
        {
            _hosts[i] = new HostState(settings.Hosts[i], settings.Hosts[i].Api("_bulk", query.ToString()));
        }

        // libbeat starts failover mode on a random host so a fleet of shippers spreads over the cluster.
        _current = settings.LoadBalance ? 0 : Random.Shared.Next(_hosts.Length);

        var index = new EventFormatter(settings.Index, _constantFields, lowercase: true);
        if (index.Constant is { } constantIndex && IndexNames.Check(constantIndex) is { } problem)
        {
            throw new ConfigException("output.elasticsearch.index", SourceLocation.None, problem);
        }

        var hosts = string.Join(", ", Array.ConvertAll(_hosts, h => h.Host.Display));
        _log.Info($"elasticsearch output: hosts [{hosts}], index '{index.Constant ?? settings.Index.Text}', bulk_max_size {settings.BulkMaxSize}, worker {settings.Worker}, compression_level {settings.CompressionLevel}, loadbalance {(settings.LoadBalance ? "on" : "off")}");
    }

    public string Name => "elasticsearch";

    /// <summary>How many PublishAsync calls can make progress at once (more calls wait for a free slot).</summary>
    public int Concurrency => _settings.Concurrency;

    public async Task<PublishResult> PublishAsync(IReadOnlyList<Event> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return PublishResult.AllAcked(0);
        }

        var outcome = new PublishOutcome();
        if (batch.Count <= _settings.BulkMaxSize)
        {
            await PublishChunkAsync(batch, outcome, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var chunks = new List<Task>();
            for (var start = 0; start < batch.Count; start += _settings.BulkMaxSize)
            {
                var count = Math.Min(_settings.BulkMaxSize, batch.Count - start);
                var chunk = new Event[count];
                for (var i = 0; i < count; i++)
                {
                    chunk[i] = batch[start + i];
                }

                chunks.Add(PublishChunkAsync(chunk, outcome, cancellationToken));
            }

            await Task.WhenAll(chunks).ConfigureAwait(false);
        }

        if (outcome.NeedsBackoff && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                await WaitForReadyHostAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        return outcome.ToResult();
    }

    public ValueTask DisposeAsync()
    {
        _transport.Dispose();
        while (_encoders.TryTake(out var encoder))
        {
            encoder.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private async Task PublishChunkAsync(IReadOnlyList<Event> events, PublishOutcome outcome, CancellationToken cancellationToken)
    {
        var encoder = RentEncoder();
        var slotTaken = false;
        IReadOnlyList<Event> pending = events;
        try
        {
            // Encode before waiting for a request slot, so one batch is encoded while another is in flight.
            var encoded = Encode(events, encoder, outcome);
            pending = encoded;
            if (encoded.Count == 0)
            {
                return;
            }

            try
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                slotTaken = true;
            }
            catch (OperationCanceledException)
            {
                outcome.Retry(encoded, backoff: false);
                return;
            }

            var bodyMatches = true;
            var hostsTried = 0;
            while (true)
            {
                HostState host;
                try
                {
                    host = await AcquireHostAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    outcome.Retry(pending, backoff: false);
                    return;
                }

                var failed = pending;
                if (host.Connected || await ConnectAsync(host, outcome, cancellationToken).ConfigureAwait(false))
                {
                    var unsent = await SendAsync(host, pending, bodyMatches, encoder, outcome, cancellationToken).ConfigureAwait(false);
                    if (unsent is null)
                    {
                        return;
                    }

                    // The encoded body still holds exactly these events unless a 413 split re-encoded it.
                    bodyMatches = ReferenceEquals(unsent, pending);
                    failed = unsent;
                }

                if (cancellationToken.IsCancellationRequested)
                {
                    outcome.Retry(failed, backoff: false);
                    return;
                }

                // The host failed as a whole: give the batch to another host that is ready now, if any.
                pending = failed;
                if (++hostsTried < _hosts.Length && AnyHostReady())
                {
                    continue;
                }

                outcome.Retry(failed, backoff: true);
                return;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug must not lose events or stop the pipeline: log it, keep the events, slow down.
            Report(outcome, LogLevel.Error, $"unexpected error while publishing {pending.Count} events: {e}");
            outcome.Retry(pending, backoff: true);
            lock (_gate)
            {
                foreach (var host in _hosts)
                {
                    host.ReadyAt = _time.GetUtcNow() + _settings.BackoffInit;
                }
            }
        }
        finally
        {
            _encoders.Add(encoder);
            if (slotTaken)
            {
                _slots.Release();
            }
        }
    }

    /// <summary>
    /// Sends one bulk request (halving it on 413). Returns null when every event is accounted for in
    /// <paramref name="outcome"/>, or the events to retry elsewhere when the host failed as a whole.
    /// </summary>
    private async Task<IReadOnlyList<Event>?> SendAsync(HostState host, IReadOnlyList<Event> events, bool encoded, BulkEncoder encoder, PublishOutcome outcome, CancellationToken cancellationToken)
    {
        var included = encoded ? events : Encode(events, encoder, outcome);
        if (included.Count == 0)
        {
            return null;
        }

        var count = included.Count;
        _metrics.Batches.Increment();
        _metrics.Total.Add(count);
        _metrics.Active.Add(count);
        var started = _time.GetTimestamp();
        EsResponse reply;
        try
        {
            using var request = _transport.CreateRequest(HttpMethod.Post, host.BulkUrl, new BulkContent(encoder.Body, encoder.Compressed));
            reply = await _transport.SendAsync(request, ReplyLimit.ForBulk(count, encoder.RawLength), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _metrics.Active.Add(-count);
            outcome.Retry(included, backoff: false);
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException or AuthenticationException)
        {
            _metrics.Active.Add(-count);
            _metrics.Failed.Add(count);
            var delay = MarkFailed(host, authentication: false, disconnect: true);
            Report(outcome, LogLevel.Error, $"bulk request with {count} events to {host} failed: {_transport.DescribeFailure(e)}; retrying in {Format(delay)}");
            return included;
        }

        using (reply)
        {
            _metrics.Active.Add(-count);
            _metrics.RecordLatency(_time.GetElapsedTime(started));
            switch (reply.Status)
            {
                case 200:
                    return HandleItems(host, included, encoder, reply, outcome);
                case 413 when count == 1:
                    _metrics.Dropped.Increment();
                    outcome.Drop(1);
                    Report(outcome, LogLevel.Error, $"Elasticsearch at {host} refuses a single event of {encoder.RawLength} bytes as too large (HTTP 413); dropping it (raise http.max_content_length in Elasticsearch)");
                    return null;
                case 413:
                {
                    _log.Warn($"Elasticsearch at {host} refused a bulk request of {count} events ({encoder.Body.Length} bytes) as too large (HTTP 413); splitting it in two");
                    var half = count / 2;
                    var first = Slice(included, 0, half);
                    var second = Slice(included, half, count - half);
                    var failedFirst = await SendAsync(host, first, false, encoder, outcome, cancellationToken).ConfigureAwait(false);
                    if (failedFirst is not null)
                    {
                        var both = new List<Event>(failedFirst);
                        both.AddRange(second);
                        return both;
                    }

                    return await SendAsync(host, second, false, encoder, outcome, cancellationToken).ConfigureAwait(false);
                }

                case 401 or 403:
                {
                    _metrics.Failed.Add(count);
                    var failure = ClusterHandshake.AuthenticationFailure(host.Host, reply);
                    var delay = MarkFailed(host, authentication: true, disconnect: true);
                    Report(outcome, LogLevel.Error, $"{failure.Message}; {count} events kept, retrying in {Format(delay)}");
                    return included;
                }

                default:
                {
                    _metrics.Failed.Add(count);
                    if (reply.Status == 429)
                    {
                        _metrics.TooMany.Add(count);
                    }

                    var delay = MarkFailed(host, authentication: false, disconnect: true);
                    Report(outcome, LogLevel.Error, $"Elasticsearch at {host} answered a bulk request with HTTP {reply.Status} ({reply.ErrorSummary()}); {count} events kept, retrying in {Format(delay)}");
                    return included;
                }
            }
        }
    }

    private List<Event> Encode(IReadOnlyList<Event> events, BulkEncoder encoder, PublishOutcome outcome)
    {
        var included = new List<Event>(events.Count);
        encoder.Begin();
        foreach (var evt in events)
        {
            string? problem;
            try
            {
                if (encoder.TryAdd(evt, out problem))
                {
                    included.Add(evt);
                    continue;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problem = $"it cannot be encoded: {e.Message}";
            }

            _metrics.Dropped.Increment();
            outcome.Drop(1);
            Report(outcome, LogLevel.Error, $"dropping a {evt.Dataset} event ({evt.Action}): {problem}");
        }

        encoder.Finish();
        return included;
    }

    /// <summary>
    /// Reads the reply's items and has <see cref="BulkItemTriage"/> settle each event. A reply that cannot be
    /// read, or has more items than the request had documents (so no item can be paired with its document), is
    /// a read error: nothing is acknowledged and the host failed as a whole.
    /// </summary>
    private IReadOnlyList<Event>? HandleItems(HostState host, IReadOnlyList<Event> events, BulkEncoder encoder, EsResponse reply, PublishOutcome outcome)
    {
        var results = encoder.Results;
        string? unreadable = null;
        try
        {
            BulkResponseParser.Parse(reply.Body, results);
            if (results.Count > events.Count)
            {
                unreadable = $"it has {results.Count} items for {events.Count} documents, so no item can be paired with its document";
            }
        }
        catch (FormatException e)
        {
            unreadable = e.Message;
        }

        if (unreadable is not null)
        {
            _metrics.ReadErrors.Increment();
            _metrics.Failed.Add(events.Count);
            var parseDelay = MarkFailed(host, authentication: false, disconnect: true);
            Report(outcome, LogLevel.Error, $"cannot read the bulk reply from {host}: {unreadable}; {events.Count} events kept, retrying in {Format(parseDelay)}");
            return events;
        }

        if (results.Count < events.Count)
        {
            Report(outcome, LogLevel.Error, $"the bulk reply from {host} has {results.Count} items for {events.Count} documents; the {events.Count - results.Count} unanswered are retried, not acknowledged");
        }

        var triage = _triage.Settle(host, events, results, outcome);
        if (triage.Retry.Count == 0)
        {
            MarkSucceeded(host);
            return null;
        }

        var delay = triage.Progress ? MarkPartial(host) : MarkFailed(host, authentication: false, disconnect: false);
        Report(outcome, LogLevel.Warning, $"{triage.Retry.Count} of {events.Count} events were not indexed by {host} ({triage.Reasons}); retrying in {Format(delay)}");
        outcome.Retry(triage.Retry, backoff: true);
        return null;
    }

    private async Task<bool> ConnectAsync(HostState host, PublishOutcome outcome, CancellationToken cancellationToken)
    {
        try
        {
            var info = await ClusterHandshake.ConnectAsync(_transport, host.Host, cancellationToken).ConfigureAwait(false);
            _log.Info($"connected to Elasticsearch {info.VersionNumber} at {host} (cluster '{info.ClusterName}', node '{info.NodeName}')");
        }
        catch (ConnectFailure failure)
        {
            var connectDelay = MarkFailed(host, failure.Kind == ConnectFailureKind.Authentication, disconnect: true);
            Report(outcome, LogLevel.Error, $"{failure.Message}; retrying in {Format(connectDelay)}");
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }

        // As libbeat: on every (re)connect make sure the ILM policy and the template are there, so a cluster
        // that lost them gets them back; nothing is sent to a host before this succeeds.
        try
        {
            await _indexSetup.EnsureAsync(_transport, host.Host, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException or TimeoutException or AuthenticationException)
        {
            var setupDelay = MarkFailed(host, authentication: false, disconnect: true);
            Report(outcome, LogLevel.Error, $"cannot set up index management (ILM policy, index template) at {host}: {_transport.DescribeFailure(e)}; retrying in {Format(setupDelay)}");
            return false;
        }

        lock (_gate)
        {
            host.Connected = true;
        }

        return true;
    }

    private async Task<HostState> AcquireHostAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                var chosen = PickReadyHost(now);
                if (chosen is not null)
                {
                    return chosen;
                }

                wait = EarliestReady() - now;
            }

            await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.FromMilliseconds(1), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WaitForReadyHostAsync(CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_gate)
        {
            wait = EarliestReady() - _time.GetUtcNow();
        }

        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private HostState? PickReadyHost(DateTimeOffset now)
    {
        if (_settings.LoadBalance)
        {
            for (var k = 0; k < _hosts.Length; k++)
            {
                var index = (_next + k) % _hosts.Length;
                if (_hosts[index].ReadyAt <= now)
                {
                    _next = (index + 1) % _hosts.Length;
                    return _hosts[index];
                }
            }

            return null;
        }

        for (var k = 0; k < _hosts.Length; k++)
        {
            var index = (_current + k) % _hosts.Length;
            if (_hosts[index].ReadyAt <= now)
            {
                _current = index;
                return _hosts[index];
            }
        }

        return null;
    }

    private DateTimeOffset EarliestReady()
    {
        var earliest = DateTimeOffset.MaxValue;
        foreach (var host in _hosts)
        {
            if (host.ReadyAt < earliest)
            {
                earliest = host.ReadyAt;
            }
        }

        return earliest;
    }

    private bool AnyHostReady()
    {
        lock (_gate)
        {
            return EarliestReady() <= _time.GetUtcNow();
        }
    }

    private TimeSpan MarkFailed(HostState host, bool authentication, bool disconnect)
    {
        lock (_gate)
        {
            host.Failures++;
            var delay = authentication ? _settings.BackoffMax : Backoff.Delay(host.Failures, _settings.BackoffInit, _settings.BackoffMax, Random.Shared);
            host.ReadyAt = _time.GetUtcNow() + delay;
            if (disconnect)
            {
                host.Connected = false;
            }

            return delay;
        }
    }

    /// <summary>Some items got through: the cluster is working, so pause briefly instead of growing the backoff.</summary>
    private TimeSpan MarkPartial(HostState host)
    {
        lock (_gate)
        {
            host.Failures = 1;
            var delay = Backoff.Delay(1, _settings.BackoffInit, _settings.BackoffMax, Random.Shared);
            host.ReadyAt = _time.GetUtcNow() + delay;
            return delay;
        }
    }

    private void MarkSucceeded(HostState host)
    {
        lock (_gate)
        {
            host.Failures = 0;
        }
    }

    private BulkEncoder RentEncoder()
    {
        if (_encoders.TryTake(out var encoder))
        {
            return encoder;
        }

        var pipeline = _settings.Pipeline is null ? null : new EventFormatter(_settings.Pipeline, _constantFields, lowercase: true);
        return new BulkEncoder(
            _documents,
            new EventFormatter(_settings.Index, _constantFields, lowercase: true),
            pipeline,
            _settings.CompressionLevel,
            _settings.EscapeHtml,
            _settings.NonIndexable.DeadLetterIndex,
            _deadLetters);
    }

    /// <summary>Logs a problem and keeps it as the batch's <see cref="PublishResult.Error"/>.</summary>
    private void Report(PublishOutcome outcome, LogLevel level, string message)
    {
        _log.Write(level, message);
        outcome.Fail(message);
    }

    private static List<Event> Slice(IReadOnlyList<Event> events, int start, int count)
    {
        var slice = new List<Event>(count);
        for (var i = start; i < start + count; i++)
        {
            slice.Add(events[i]);
        }

        return slice;
    }

    private static string Format(TimeSpan delay) =>
        delay < TimeSpan.FromSeconds(1) ? $"{(int)delay.TotalMilliseconds}ms" : $"{delay.TotalSeconds:0.#}s";
}
