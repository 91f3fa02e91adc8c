using Shipper.Module.Logging;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.IndexManagement;

/// <summary>
/// Puts the ILM policy into Elasticsearch as libbeat does: <c>GET _ilm/policy/&lt;name&gt;</c> (200: it
/// exists and is kept unless <c>overwrite</c>; 404: missing), then <c>PUT _ilm/policy/&lt;name&gt;</c>.
/// Any other answer is an error with the status and Elasticsearch's reason.
/// </summary>
public static class IlmPolicyLoader
{
    /// <summary>Throws <see cref="InvalidOperationException"/> with Elasticsearch's reason when the cluster refuses.</summary>
    public static async Task<IlmPolicyLoadResult> LoadAsync(
        ElasticsearchTransport transport,
        ElasticsearchHost host,
        IlmPolicy policy,
        bool overwrite,
        Logger log,
        CancellationToken cancellationToken)
    {
        var url = host.Api("_ilm/policy/" + Uri.EscapeDataString(policy.Name));
        if (!overwrite)
        {
            using var get = transport.CreateRequest(HttpMethod.Get, url);
            using var exists = await transport.SendAsync(get, cancellationToken).ConfigureAwait(false);
            if (exists.Status == 200)
            {
                log.Debug($"ILM policy '{policy.Name}' already exists at {host} and is kept (setup.ilm.overwrite: false)");
                return IlmPolicyLoadResult.AlreadyExists;
            }

            if (exists.Status != 404)
            {
                throw new InvalidOperationException($"cannot check for ILM policy '{policy.Name}' at {host}: HTTP {exists.Status} {exists.ErrorSummary()}");
            }
        }

        var body = new ByteArrayContent(policy.Body);
        body.Headers.ContentType = new global::System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var put = transport.CreateRequest(HttpMethod.Put, url, body);
        using var reply = await transport.SendAsync(put, cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess)
        {
            throw new InvalidOperationException($"Elasticsearch at {host} refused ILM policy '{policy.Name}': HTTP {reply.Status} {reply.ErrorSummary()}");
        }

        log.Info($"loaded ILM policy '{policy.Name}' into {host}");
        return IlmPolicyLoadResult.Created;
    }
}
