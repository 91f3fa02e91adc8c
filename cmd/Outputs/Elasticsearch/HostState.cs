namespace Shipper.Outputs.Elasticsearch;

/// <summary>What the output knows about one host. Guarded by the output's lock.</summary>
internal sealed class HostState
{
    public HostState(ElasticsearchHost host, Uri bulkUrl)
    {
        Host = host;
        BulkUrl = bulkUrl;
    }

    public ElasticsearchHost Host { get; }

    public Uri BulkUrl { get; }

    /// <summary><c>GET /</c> succeeded (and the template is in place); reset by connection-level failures.</summary>
    public bool Connected { get; set; }

    /// <summary>Consecutive attempts that made no progress; drives the exponential backoff.</summary>
    public int Failures { get; set; }

    /// <summary>Not used before this time (backoff).</summary>
    public DateTimeOffset ReadyAt { get; set; }

    public override string ToString() => Host.Display;
}
