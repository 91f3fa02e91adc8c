using System.Security.Authentication;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// The first request to a host: <c>GET /</c>, which must come from Elasticsearch (the
/// <c>X-Elastic-Product</c> header) of version 7.17 or later.
/// </summary>
public static class ClusterHandshake
{
    /// <summary>Returns what the cluster said about itself, or throws <see cref="ConnectFailure"/> naming the host and the reason.</summary>
    public static async Task<ClusterInfo> ConnectAsync(ElasticsearchTransport transport, ElasticsearchHost host, CancellationToken cancellationToken)
    {
        EsResponse reply;
        try
        {
            reply = await transport.GetAsync(host.Api(""), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException or AuthenticationException)
        {
            throw new ConnectFailure(ConnectFailureKind.Network, $"cannot connect to Elasticsearch at {host}: {transport.DescribeFailure(e)}", e);
        }

        using (reply)
        {
            if (reply.Status is 401 or 403)
            {
                throw AuthenticationFailure(host, reply);
            }

            if (!reply.IsSuccess)
            {
                throw new ConnectFailure(ConnectFailureKind.ServerError, $"Elasticsearch at {host} answered GET / with HTTP {reply.Status}: {reply.ErrorSummary()}");
            }

            ClusterInfo? info = null;
            string? parseProblem = null;
            try
            {
                info = ClusterInfo.Parse(reply.Body);
            }
            catch (FormatException e)
            {
                parseProblem = e.Message;
            }

            var refusal = ClusterInfo.Refusal(reply.Product, info) ?? parseProblem;
            if (refusal is not null)
            {
                throw new ConnectFailure(ConnectFailureKind.Refused, $"refusing to ship to {host}: {refusal}");
            }

            return info!;
        }
    }

    public static ConnectFailure AuthenticationFailure(ElasticsearchHost host, EsResponse reply)
    {
        var what = reply.Status == 401 ? "refused the credentials" : "denied the request (missing privileges)";
        return new ConnectFailure(
            ConnectFailureKind.Authentication,
            $"Elasticsearch at {host} {what} (HTTP {reply.Status}: {reply.ErrorSummary()}); check output.elasticsearch.username/password or api_key");
    }
}
