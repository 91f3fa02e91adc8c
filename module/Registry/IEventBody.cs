using System.Text.Json;

namespace Shipper.Module.Registry;

/// <summary>
/// The dataset-specific part of a document. The host writes the envelope (<c>@timestamp</c>, <c>agent</c>,
/// <c>host</c>, <c>event</c>, …) and calls <see cref="WriteFields"/> inside the root object to add the rest
/// (<c>process</c>, <c>user</c>, <c>message</c>, …). It must not write the envelope's keys.
/// </summary>
public interface IEventBody
{
    void WriteFields(Utf8JsonWriter writer);
}
