using System.Text.Json;

namespace Shipper.Module.Registry;

/// <summary>
/// The dataset-specific part of a document. The host writes the envelope (<c>@timestamp</c>, <c>agent</c>,
/// <c>host</c>, <c>event</c>, …) and calls <see cref="WriteFields"/> inside the root object to add the rest
/// (<c>process</c>, <c>user</c>, <c>message</c>, …). It must not write the envelope's keys.
/// </summary>
public interface IEventBody
{
    /// <summary>What a body that does not say is taken to cost: about what a small document's strings take.</summary>
    const long DefaultEstimatedBytes = 1024;

    void WriteFields(Utf8JsonWriter writer);

    /// <summary>
    /// About how many bytes of memory this body keeps alive while it is queued, for the memory queue's byte bound
    /// (<c>queue.mem.bytes</c>). Must be cheap (the publisher asks once per event and once more when the output is
    /// done with it) and must not change once the body is published. Bodies that can carry large strings say so.
    /// </summary>
    long EstimatedBytes => DefaultEstimatedBytes;

    /// <summary>
    /// ECS <c>tags</c> of this document alone (e.g. <c>process_args_truncated</c>), added after the configured
    /// <c>tags</c> every document carries; null for none. Share static arrays.
    /// </summary>
    IReadOnlyList<string>? Tags => null;
}
