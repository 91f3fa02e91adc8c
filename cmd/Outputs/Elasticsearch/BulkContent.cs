using System.Net;
using System.Net.Http.Headers;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// A <c>_bulk</c> body sent from the pooled buffer with a Content-Length (never chunked). The buffer belongs
/// to the encoder: disposing the content does not release it, so the same body can be sent to another host.
/// </summary>
public sealed class BulkContent : HttpContent
{
    public static readonly MediaTypeHeaderValue NdJson = new("application/x-ndjson");

    private readonly BulkBuffer _body;

    public BulkContent(BulkBuffer body, bool gzip)
    {
        _body = body;
        Headers.ContentType = NdJson;
        if (gzip)
        {
            Headers.ContentEncoding.Add("gzip");
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        _body.CopyToAsync(stream, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        _body.CopyToAsync(stream, cancellationToken);

    protected override bool TryComputeLength(out long length)
    {
        length = _body.Length;
        return true;
    }
}
