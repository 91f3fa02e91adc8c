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
        if (!overwrite)
        {
            using var head = transport.CreateRequest(HttpMethod.Head, url);
            using var exists = await transport.SendAsync(head, cancellationToken).ConfigureAwait(false);
            if (exists.Status == 200)
            {
                log.Debug($"index template '{template.Name}' already exists at {host} and is kept (setup.template.overwrite: false)");
                return TemplateLoadResult.AlreadyExists;
            }

            if (exists.Status != 404)
            {
                throw new InvalidOperationException($"cannot check for index template '{template.Name}' at {host}: HTTP {exists.Status} {exists.ErrorSummary()}");
            }
        }

        var body = new ByteArrayContent(template.ToJson());
        body.Headers.ContentType = new global::System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var put = transport.CreateRequest(HttpMethod.Put, url, body);
        using var reply = await transport.SendAsync(put, cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess)
        {
            throw new InvalidOperationException($"Elasticsearch at {host} refused index template '{template.Name}': HTTP {reply.Status} {reply.ErrorSummary()}");
        }

        log.Info($"loaded index template '{template.Name}' (pattern '{template.Pattern}') into {host}");
        return TemplateLoadResult.Loaded;
    }
}
