using System.Text.Json.Nodes;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>An ILM policy as the loopback server stored it: its <c>policy</c> object, version (1 on creation, +1 per PUT) and time of the last PUT.</summary>
public sealed record LoopbackIlmPolicy(string Name, JsonObject Policy, long Version, DateTimeOffset Modified);
