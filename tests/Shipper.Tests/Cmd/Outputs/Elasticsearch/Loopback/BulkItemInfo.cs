using System.Text.Json;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>One document of a <c>_bulk</c> request, offered to the per-item fault hook.</summary>
public readonly record struct BulkItemInfo(int Request, int Position, string Index, JsonElement Document);
