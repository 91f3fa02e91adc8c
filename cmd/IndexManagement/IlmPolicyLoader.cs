using Shipper.Module.Logging;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.IndexManagement;

/// <summary>
/// Puts the ILM policy into Elasticsearch as libbeat does: <c>GET _ilm/policy/&lt;name&gt;</c> (200: it
/// exists and is kept unless <c>overwrite</c>; 404: missing), then <c>PUT _ilm/policy/&lt;name&gt;</c>.
/// With <c>overwrite</c> it puts without asking.
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
        var what = $"ILM policy '{policy.Name}'";
        if (!overwrite && await ClusterResource.ExistsAsync(transport, host, HttpMethod.Get, url, what, cancellationToken).ConfigureAwait(false))
        {
            log.Debug($"{what} already exists at {host} and is kept (setup.ilm.overwrite: false)");
            return IlmPolicyLoadResult.AlreadyExists;
        }

        await ClusterResource.PutAsync(transport, host, url, policy.Body, what, cancellationToken).ConfigureAwait(false);
        log.Info($"loaded {what} into {host}");
        return IlmPolicyLoadResult.Created;
    }
}
