using System.Text.Json.Nodes;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>A composable index template as the loopback server stored it.</summary>
public sealed record LoopbackTemplate(string Name, JsonObject Body, string[] Patterns, long Priority, bool DataStream, LoopbackMappings Mappings);
