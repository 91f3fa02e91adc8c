using System.Buffers;
using System.IO.Compression;
using System.Net.Http;
using System.Net.Sockets;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// Reads a reply's body whole into a pooled buffer, within a byte limit counted as the body arrives and again
/// after inflating gzip (done here rather than by the handler, which would hide the compressed count). The
/// buffer starts small and doubles up to the limit: <c>Content-Length</c> only lets a reply be refused early.
/// A body that breaks off, is over the limit or is corrupt becomes a <see cref="ReplyException"/> and one
/// <c>output.read.errors</c>; a socket error is counted where it happens (<see cref="CountingStream"/>), not here.
/// </summary>
internal static class ReplyReader
{
    private const int FirstBuffer = 16 * 1024;

    public static async Task<(byte[] Buffer, int Length)> ReadAsync(HttpContent content, int limit, OutputMetrics? metrics, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is { } announced && announced > limit)
        {
            metrics?.ReadErrors.Increment();
            throw new ReplyException($"the reply announces {announced} bytes (Content-Length), more than the {limit} bytes an honest reply to this request has; not reading it");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(FirstBuffer, limit + 1));
        var length = 0;
        CappedReadStream? arriving = null;
        try
        {
            var gzip = IsGzip(content);
            arriving = new CappedReadStream(await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), limit);
            await using var body = gzip ? new GZipStream(arriving, CompressionMode.Decompress) : (Stream)arriving;
            while (true)
            {
                var window = Math.Min(buffer.Length, limit + 1);
                if (length == window)
                {
                    if (length > limit)
                    {
                        throw new ReplyException($"the reply inflates to more than {limit} bytes ({arriving.BytesRead} bytes of gzip read), the most an honest reply to this request has; stopped reading it");
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, limit + 1L));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                    window = Math.Min(buffer.Length, limit + 1);
                }

                var n = await body.ReadAsync(buffer.AsMemory(length, window - length), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    return (buffer, length);
                }

                length += n;
            }
        }
        catch (Exception e)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (e is OperationCanceledException)
            {
                throw;
            }

            var read = arriving?.BytesRead ?? 0;
            var failure = e switch
            {
                ReplyException reply => reply,
                InvalidDataException => new ReplyException($"the gzip-compressed reply is corrupt after {read} bytes: {e.Message}", e),
                IOException or HttpRequestException when HasSocketError(e) => null,
                IOException or HttpRequestException => new ReplyException($"the reply broke off after {read} bytes of its body (the connection closed mid-reply: {e.Message})", e),
                _ => null,
            };
            if (failure is null)
            {
                throw;
            }

            metrics?.ReadErrors.Increment();
            throw failure;
        }
    }

    /// <summary>True when a socket read or write failed underneath (already counted by <see cref="CountingStream"/>).</summary>
    public static bool HasSocketError(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsGzip(HttpContent content)
    {
        var encodings = content.Headers.ContentEncoding;
        if (encodings.Count == 0)
        {
            return false;
        }

        if (encodings.Count == 1)
        {
            foreach (var encoding in encodings)
            {
                if (string.Equals(encoding, "gzip", StringComparison.OrdinalIgnoreCase) || string.Equals(encoding, "x-gzip", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }

                if (string.Equals(encoding, "identity", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }
            }
        }

        throw new ReplyException($"the reply is encoded as '{string.Join(", ", encodings)}' (Content-Encoding), which Shipper does not ask for and cannot read");
    }
}
