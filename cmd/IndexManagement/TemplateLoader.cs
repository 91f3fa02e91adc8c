using Shipper.Module.Logging;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.IndexManagement;

/// <summary>
/// Puts the index template into Elasticsearch: <c>HEAD _index_template/&lt;name&gt;</c> to see whether it
/// exists (kept unless <c>overwrite</c>), then <c>PUT _index_template/&lt;name&gt;</c>.
/// </summary>
public static class TemplateLoader
{
    /// <summary>Throws <see cref="InvalidOperationException"/> with Elasticsearch's reason when the cluster refuses.</summary>
    public static async Task<TemplateLoadResult> LoadAsync(
        ElasticsearchTransport transport,
        ElasticsearchHost host,
        IndexTemplateBuilder template,
        bool overwrite,
        Logger log,
        CancellationToken cancellationToken)
    {
        var url = host.Api("_index_template/" + Uri.EscapeDataString(template.Name));
        var what = $"index template '{template.Name}'";
        if (!overwrite && await ClusterResource.ExistsAsync(transport, host, HttpMethod.Head, url, what, cancellationToken).ConfigureAwait(false))
        {
            log.Debug($"{what} already exists at {host} and is kept (setup.template.overwrite: false)");
            return TemplateLoadResult.AlreadyExists;
        }

        await ClusterResource.PutAsync(transport, host, url, template.ToJson(), what, cancellationToken).ConfigureAwait(false);
        log.Info($"loaded {what} (pattern '{template.Pattern}') into {host}");
        return TemplateLoadResult.Loaded;
    }
}
