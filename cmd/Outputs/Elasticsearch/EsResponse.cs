using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>An Elasticsearch reply read completely into a pooled buffer. Dispose returns the buffer.</summary>
public sealed class EsResponse : IDisposable
{
    private byte[]? _buffer;

    public EsResponse(int status, string? product, byte[] buffer, int length)
    {
        Status = status;
        Product = product;
        _buffer = buffer;
        Length = length;
    }

    public int Status { get; }

    /// <summary>The <c>X-Elastic-Product</c> header (Elasticsearch ≥ 7.14 sends <c>Elasticsearch</c>).</summary>
    public string? Product { get; }

    public int Length { get; }

    public ReadOnlySpan<byte> Body => _buffer is null ? ReadOnlySpan<byte>.Empty : _buffer.AsSpan(0, Length);

    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>
    /// A one-line description of an error reply: <c>type: reason</c> from Elasticsearch's error object when
    /// there is one, else the start of the body.
    /// </summary>
    public string ErrorSummary()
    {
        var body = Body;
        if (body.IsEmpty)
        {
            return "empty reply";
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("error"u8))
                    {
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.String)
                        {
                            return reader.GetString()!;
                        }

                        return BulkItemResult.DescribeError(ref reader);
                    }

                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
        }

        var text = Encoding.UTF8.GetString(body.Length > 300 ? body[..300] : body).ReplaceLineEndings(" ");
        return body.Length > 300 ? text + "…" : text;
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null && buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
