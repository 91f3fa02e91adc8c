using System.IO.Compression;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>The reply modes of <see cref="BulkFault"/>: replies no honest cluster sends, written as a hostile one would.</summary>
public sealed partial class LoopbackElasticsearch
{
    private const int SpacesPerMember = 64 * 1024 * 1024;
    private static readonly Lazy<byte[]> SpacesMember = new(() => Gzip(Enumerable.Repeat((byte)' ', SpacesPerMember).ToArray()));
    // GZipStream writes nothing at all for no input: an empty member (header, empty final block, CRC 0, size 0) by hand.
    private static readonly byte[] EmptyMember = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly byte[] ReplyStart = "{\"errors\":false,\"items\":["u8.ToArray();

    /// <summary>A reply mode for <c>GET /</c> (endless, gzip bomb); null for the real answer.</summary>
    public BulkFault? RootFault { get; set; }

    /// <summary>Writes a reply mode that needs no documents; false when <paramref name="fault"/> is not one.</summary>
    private async Task<bool> TryWriteHostileReplyAsync(HttpContext context, BulkFault? fault)
    {
        switch (fault)
        {
            case BulkFault.EndlessChunkedReply:
            {
                var chunk = new StringBuilder();
                while (chunk.Length < 64 * 1024)
                {
                    chunk.Append("{\"create\":{\"status\":201}},");
                }

                await WriteForeverAsync(context, null, ReplyStart, Encoding.UTF8.GetBytes(chunk.ToString()), long.MaxValue);
                return true;
            }

            case BulkFault.GzipBomb bomb:
            {
                var start = Gzip(ReplyStart);
                var members = Math.Max(1, bomb.InflatedBytes / SpacesPerMember);
                var member = SpacesMember.Value;
                if (bomb.AnnounceLength)
                {
                    context.Response.ContentLength = start.Length + (members * member.Length);
                }

                await WriteForeverAsync(context, "gzip", start, member, members);
                return true;
            }

            case BulkFault.EndlessEmptyGzip:
            {
                var chunk = new byte[EmptyMember.Length * 4096];
                for (var i = 0; i < 4096; i++)
                {
                    EmptyMember.CopyTo(chunk, i * EmptyMember.Length);
                }

                await WriteForeverAsync(context, "gzip", Gzip(ReplyStart), chunk, long.MaxValue);
                return true;
            }

            default:
                return false;
        }
    }

    /// <summary>Sends <paramref name="start"/>, then <paramref name="repeat"/> up to <paramref name="times"/> times or until the client goes away.</summary>
    private async Task WriteForeverAsync(HttpContext context, string? encoding, byte[] start, byte[] repeat, long times)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        if (encoding is not null)
        {
            response.Headers.ContentEncoding = encoding;
        }

        try
        {
            await response.Body.WriteAsync(start, context.RequestAborted);
            for (long i = 0; i < times && !context.RequestAborted.IsCancellationRequested; i++)
            {
                await response.Body.WriteAsync(repeat, context.RequestAborted);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException or InvalidOperationException)
        {
            // The client stopped reading and closed: what a capped client does.
            context.Abort();
        }
    }

    /// <summary>Sends the first half of <paramref name="body"/>, then closes the connection with a FIN, not a reset.</summary>
    private static async Task WriteTruncatedAsync(HttpContext context, ReadOnlyMemory<byte> body, bool chunked)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        if (!chunked)
        {
            response.ContentLength = body.Length;
        }

        await response.Body.WriteAsync(body[..(body.Length / 2)]);
        await response.Body.FlushAsync();

        // Let the transport put the half on the wire before the FIN.
        await Task.Delay(100);
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket
            ?? throw new InvalidOperationException("Kestrel does not expose the connection's socket");
        socket.Shutdown(SocketShutdown.Send);
        await Task.Delay(100);
        context.Abort();
    }

    private static byte[] Gzip(byte[] data)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return compressed.ToArray();
    }
}
