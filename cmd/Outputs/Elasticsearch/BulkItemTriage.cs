using System.Runtime.CompilerServices;
using Shipper.Module.Logging;
using Shipper.Module.Registry;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// Settles each document of a <c>_bulk</c> request from its item in the reply, paired by position: 2xx
/// acknowledged; 409 a duplicate (acknowledged); 429 retried; 5xx retried until <c>max_retries</c>, then the
/// non-indexable policy; any other 3xx/4xx the non-indexable policy (dropped and counted, or rewritten into the
/// dead-letter index). An item whose status is not a final HTTP status (200–599), and a document the reply has
/// no item for, is a malformed answer: counted, retried, never acknowledged. Holds no per-request state, so
/// concurrent requests settle at once.
/// </summary>
internal sealed class BulkItemTriage
{
    private const int DetailedRejectionsPerRequest = 3;

    private readonly ElasticsearchSettings _settings;
    private readonly OutputMetrics _metrics;
    private readonly Logger _log;
    private readonly ConditionalWeakTable<Event, DeadLetterMark> _deadLetters;

    public BulkItemTriage(ElasticsearchSettings settings, OutputMetrics metrics, Logger log, ConditionalWeakTable<Event, DeadLetterMark> deadLetters)
    {
        _settings = settings;
        _metrics = metrics;
        _log = log;
        _deadLetters = deadLetters;
    }

    /// <summary>
    /// Settles <paramref name="events"/> against <paramref name="results"/> (no more results than events: a
    /// longer reply cannot be paired and is the caller's to refuse). Acks, drops and dead-letter rewrites go
    /// into <paramref name="outcome"/>; retries are returned.
    /// </summary>
    public BulkTriage Settle(HostState host, IReadOnlyList<Event> events, List<BulkItemResult> results, PublishOutcome outcome)
    {
        int acked = 0, duplicates = 0, dropped = 0, tooMany = 0, serverErrors = 0, malformed = 0, rejected = 0;
        var retry = new List<Event>();
        List<Event>? deadLetter = null;
        BulkItemResult? firstFailure = null;
        BulkItemResult? firstMalformed = null;
        for (var i = 0; i < events.Count; i++)
        {
            var evt = events[i];
            if (i >= results.Count)
            {
                malformed++;
                retry.Add(evt);
                continue;
            }

            var item = results[i];
            if (item.Status is < 200 or > 599)
            {
                // -1, 0, 100 or 600 answer nothing about the document: neither indexed nor refused.
                malformed++;
                firstMalformed ??= item;
                retry.Add(evt);
            }
            else if (item.Status < 300)
            {
                acked++;
            }
            else if (item.Status == 409)
            {
                duplicates++;
            }
            else if (item.Status == 429)
            {
                tooMany++;
                firstFailure ??= item;
                retry.Add(evt);
            }
            else if (item.Status >= 500)
            {
                serverErrors++;
                firstFailure ??= item;
                evt.Attempts++;
                if (_settings.MaxRetries >= 0 && evt.Attempts > _settings.MaxRetries)
                {
                    if (NonIndexable(evt, item, $" after {evt.Attempts} attempts (max_retries {_settings.MaxRetries})", outcome, ref rejected))
                    {
                        (deadLetter ??= new()).Add(evt);
                    }
                    else
                    {
                        dropped++;
                    }
                }
                else
                {
                    retry.Add(evt);
                }
            }
            else if (NonIndexable(evt, item, "", outcome, ref rejected))
            {
                (deadLetter ??= new()).Add(evt);
            }
            else
            {
                dropped++;
            }
        }

        if (rejected > DetailedRejectionsPerRequest)
        {
            Report(outcome, LogLevel.Warning, $"{rejected - DetailedRejectionsPerRequest} more events of this request were rejected by {host} ({rejected} in all; {dropped} dropped, {deadLetter?.Count ?? 0} sent to the dead letter index)");
        }

        if (malformed > 0)
        {
            // One reply, partly unreadable: one read error, and each document it failed to answer.
            _metrics.ReadErrors.Increment();
            _metrics.Malformed.Add(malformed);
        }

        _metrics.Acked.Add(acked);
        _metrics.Duplicates.Add(duplicates);
        _metrics.Dropped.Add(dropped);
        _metrics.TooMany.Add(tooMany);
        _metrics.Failed.Add(retry.Count);
        outcome.Ack(acked + duplicates);
        outcome.Drop(dropped);
        if (deadLetter is not null)
        {
            _metrics.DeadLettered.Add(deadLetter.Count);
            outcome.Retry(deadLetter, backoff: false);
        }

        var reasons = $"{tooMany} × 429 Too Many Requests, {serverErrors} × 5xx";
        if (malformed > 0)
        {
            var missing = Math.Max(0, events.Count - results.Count);
            reasons += $", {malformed} × malformed answer ({malformed - missing} with a status that is not 200–599{(firstMalformed is { } m ? ", first " + m.Status : "")}, {missing} missing)";
        }

        if (firstFailure is { } f)
        {
            reasons += "; first: " + f.Describe();
        }

        var progress = acked + duplicates + dropped + (deadLetter?.Count ?? 0) > 0;
        return new BulkTriage(retry, progress, reasons);
    }

    /// <summary>Applies non_indexable_policy; true when the event goes to the dead-letter index.</summary>
    private bool NonIndexable(Event evt, BulkItemResult item, string attempts, PublishOutcome outcome, ref int logged)
    {
        // A mapping conflict can hit every event of a busy shipper: detail a few per request, count the rest.
        var log = logged++ < DetailedRejectionsPerRequest;
        if (_settings.NonIndexable.DeadLetterIndex is { } deadLetterIndex)
        {
            if (_deadLetters.TryGetValue(evt, out _))
            {
                if (log)
                {
                    Report(outcome, LogLevel.Error, $"cannot index an event into the dead letter index '{deadLetterIndex}' either ({item.Describe()}); dropping it");
                }

                return false;
            }

            if (log)
            {
                Report(outcome, LogLevel.Warning, $"cannot index a {evt.Dataset} event ({item.Describe()}){attempts}; sending it to the dead letter index '{deadLetterIndex}'");
            }

            _deadLetters.AddOrUpdate(evt, new DeadLetterMark(item.Status, item.ErrorJson ?? item.Describe()));
            return true;
        }

        if (log)
        {
            Report(outcome, LogLevel.Warning, $"cannot index a {evt.Dataset} event ({item.Describe()}){attempts}: dropping event!");
        }

        return false;
    }

    private void Report(PublishOutcome outcome, LogLevel level, string message)
    {
        _log.Write(level, message);
        outcome.Fail(message);
    }
}
