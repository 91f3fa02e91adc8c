namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>What the loopback server saw of one request, for assertions on the wire format.</summary>
public sealed record LoopbackRequest(
    string Method,
    string Path,
    string Query,
    IReadOnlyDictionary<string, string> Headers,
    long WireBytes,
    long BodyBytes,
    int Status)
{
    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var value) ? value : null;
}
