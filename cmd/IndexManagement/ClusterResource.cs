using Shipper.Outputs.Elasticsearch;

namespace Shipper.IndexManagement;

/// <summary>
/// The two requests index management makes for each thing it keeps in the cluster (an ILM policy, an index
/// template): does it exist, and put it. Any answer other than the expected ones is an
/// <see cref="InvalidOperationException"/> naming the thing, the host, the status and Elasticsearch's reason.
/// </summary>
public static class ClusterResource
{
    /// <summary>True on 200, false on 404. <paramref name="what"/> names the thing, e.g. <c>ILM policy 'shipper'</c>.</summary>
    public static async Task<bool> ExistsAsync(ElasticsearchTransport transport, ElasticsearchHost host, HttpMethod method, Uri url, string what, CancellationToken cancellationToken)
    {
        using var request = transport.CreateRequest(method, url);
        using var reply = await transport.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return reply.Status switch
        {
            200 => true,
            404 => false,
            _ => throw new InvalidOperationException($"cannot check for {what} at {host}: HTTP {reply.Status} {reply.ErrorSummary()}"),
        };
    }

    /// <summary><c>PUT</c> of a JSON body; anything but 2xx is an error.</summary>
    public static async Task PutAsync(ElasticsearchTransport transport, ElasticsearchHost host, Uri url, byte[] json, string what, CancellationToken cancellationToken)
    {
        var body = new ByteArrayContent(json);
        body.Headers.ContentType = new global::System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var put = transport.CreateRequest(HttpMethod.Put, url, body);
        using var reply = await transport.SendAsync(put, cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess)
        {
            throw new InvalidOperationException($"Elasticsearch at {host} refused {what}: HTTP {reply.Status} {reply.ErrorSummary()}");
        }
    }
}
