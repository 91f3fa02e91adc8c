using Shipper.Module.Registry;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>What <see cref="BulkItemTriage"/> left to the output after settling a reply's items.</summary>
/// <param name="Retry">Events to send again after a backoff (429, 5xx within <c>max_retries</c>, malformed or missing items).</param>
/// <param name="Progress">Some event was acknowledged, dropped or moved to the dead-letter index: the host works.</param>
/// <param name="Reasons">Why the retried events were not indexed, for the log line.</param>
internal readonly record struct BulkTriage(List<Event> Retry, bool Progress, string Reasons);
