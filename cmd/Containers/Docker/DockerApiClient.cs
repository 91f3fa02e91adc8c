using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.Containers.Docker;

/// <summary>
/// The few Docker Engine API calls <c>add_docker_metadata</c> needs, over one <see cref="HttpClient"/>. The API
/// version is negotiated as the Docker client does: <c>GET /_ping</c> names the daemon's version in its
/// <c>API-Version</c> header, and requests use the lower of that and <see cref="MaxApiVersion"/> as their
/// <c>/v1.xx/</c> prefix (a daemon that names none gets the oldest version with every field used here).
/// Every reply is read within a byte cap; a reply past it, of the wrong status or shape is a
/// <see cref="DockerApiException"/>. Not thread-safe for <see cref="NegotiateAsync"/>; the other calls may run at once.
/// </summary>
public sealed class DockerApiClient : IDisposable
{
    /// <summary>The newest API version this client was written against.</summary>
    public static readonly Version MaxApiVersion = new(1, 41);

    /// <summary>What a daemon that names no version is spoken to with (its list, inspect and events carry every field used).</summary>
    public static readonly Version FallbackApiVersion = new(1, 24);

    public const int ListReplyLimit = 16 * 1024 * 1024;
    public const int InspectReplyLimit = 1024 * 1024;
    public const int SmallReplyLimit = 64 * 1024;

    /// <summary>One event line is a few hundred bytes; a line longer than this is not an event.</summary>
    public const int EventLineLimit = 256 * 1024;

    private readonly HttpClient _client;
    private readonly TimeProvider _time;
    private string _prefix = "";

    public DockerApiClient(DockerEndpoint endpoint, TimeSpan requestTimeout, TimeProvider time)
    {
        Endpoint = endpoint;
        RequestTimeout = requestTimeout;
        _time = time;
        _client = endpoint.CreateClient(requestTimeout);
    }

    public DockerEndpoint Endpoint { get; }

    public TimeSpan RequestTimeout { get; }

    /// <summary>The version requests use, once negotiated.</summary>
    public Version? ApiVersion { get; private set; }

    public async Task NegotiateAsync(CancellationToken cancellationToken)
    {
        using var timeout = Bounded(cancellationToken);
        using var response = await SendAsync("/_ping", timeout.Token).ConfigureAwait(false);
        var (body, _) = await ReadBodyAsync(response, SmallReplyLimit, "/_ping", timeout.Token).ConfigureAwait(false);
        ArrayPool<byte>.Shared.Return(body);
        var version = FallbackApiVersion;
        if (response.Headers.TryGetValues("API-Version", out var values))
        {
            foreach (var value in values)
            {
                if (!Version.TryParse(value, out var daemon))
                {
                    throw new DockerApiException($"/_ping names API version '{value}', which is not a version");
                }

                version = daemon < MaxApiVersion ? daemon : MaxApiVersion;
            }
        }

        ApiVersion = version;
        _prefix = "/v" + version.ToString(2);
    }

    /// <summary>Running containers (<c>GET /containers/json</c>), or only the one with <paramref name="id"/>.</summary>
    public async Task<List<DockerContainer>> ListAsync(string? id, CancellationToken cancellationToken)
    {
        var path = _prefix + "/containers/json" + (id is null ? "" : "?filters=" + Uri.EscapeDataString($"{{\"id\":[\"{id}\"]}}"));
        using var timeout = Bounded(cancellationToken);
        using var response = await SendAsync(path, timeout.Token).ConfigureAwait(false);
        var (buffer, length) = await ReadBodyAsync(response, ListReplyLimit, "/containers/json", timeout.Token).ConfigureAwait(false);
        try
        {
            return DockerJson.ParseList(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>One container (<c>GET /containers/{id}/json</c>); null when the daemon has no such container (404).</summary>
    public async Task<DockerContainer?> InspectAsync(string id, CancellationToken cancellationToken)
    {
        using var timeout = Bounded(cancellationToken);
        using var response = await SendAsync(_prefix + "/containers/" + Uri.EscapeDataString(id) + "/json", timeout.Token, allowNotFound: true).ConfigureAwait(false);
        var (buffer, length) = await ReadBodyAsync(response, InspectReplyLimit, "/containers/{id}/json", timeout.Token).ConfigureAwait(false);
        try
        {
            return response.StatusCode == HttpStatusCode.NotFound ? null : DockerJson.ParseInspect(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Follows <c>GET /events</c> for containers from <paramref name="sinceSeconds"/> on (0: from now), handing each
    /// event to <paramref name="onEvent"/> as it arrives. Returns when the daemon ends the stream; throws when it
    /// breaks or sends something that is not an event.
    /// </summary>
    public async Task FollowEventsAsync(long sinceSeconds, Func<DockerEvent, ValueTask> onEvent, CancellationToken cancellationToken)
    {
        var path = _prefix + "/events?filters=" + Uri.EscapeDataString("{\"type\":[\"container\"]}")
            + (sinceSeconds > 0 ? "&since=" + sinceSeconds.ToString(CultureInfo.InvariantCulture) : "");
        HttpResponseMessage response;
        using (var start = Bounded(cancellationToken))
        {
            // The stream has no end: only its start is bounded.
            response = await SendAsync(path, start.Token).ConfigureAwait(false);
        }

        using var _ = response;
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length >= EventLineLimit)
                    {
                        throw new DockerApiException($"an event line is longer than {EventLineLimit} bytes; the daemon's event stream is not what it sends");
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var n = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                var scanFrom = length;
                length += n;
                var start = 0;
                while (buffer.AsSpan(scanFrom, length - scanFrom).IndexOf((byte)'\n') is var newline and >= 0)
                {
                    var end = scanFrom + newline;
                    var line = buffer.AsSpan(start, end - start).Trim((byte)'\r');
                    if (!line.IsEmpty)
                    {
                        await onEvent(DockerJson.ParseEvent(line)).ConfigureAwait(false);
                    }

                    start = end + 1;
                    scanFrom = start;
                }

                if (start > 0)
                {
                    buffer.AsSpan(start, length - start).CopyTo(buffer);
                    length -= start;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A token that also fires after <see cref="RequestTimeout"/> on the injected clock.</summary>
    private Deadline Bounded(CancellationToken cancellationToken) => new(RequestTimeout, _time, cancellationToken);

    private readonly struct Deadline : IDisposable
    {
        private readonly CancellationTokenSource _timeout;
        private readonly CancellationTokenSource _linked;

        public Deadline(TimeSpan after, TimeProvider time, CancellationToken cancellationToken)
        {
            _timeout = new CancellationTokenSource(after, time);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timeout.Token);
        }

        public CancellationToken Token => _linked.Token;

        public void Dispose()
        {
            _linked.Dispose();
            _timeout.Dispose();
        }
    }

    private async Task<HttpResponseMessage> SendAsync(string path, CancellationToken cancellationToken, bool allowNotFound = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode || (allowNotFound && response.StatusCode == HttpStatusCode.NotFound))
        {
            return response;
        }

        try
        {
            var (buffer, length) = await ReadBodyAsync(response, SmallReplyLimit, path, cancellationToken).ConfigureAwait(false);
            var message = DockerJson.ParseErrorMessage(buffer.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
            throw new DockerApiException($"GET {path} answered {(int)response.StatusCode}{(message is null ? "" : ": " + message)}");
        }
        finally
        {
            response.Dispose();
        }
    }

    private static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpResponseMessage response, int limit, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await ReplyReader.ReadAsync(response.Content, limit, null, cancellationToken).ConfigureAwait(false);
        }
        catch (ReplyException e)
        {
            throw new DockerApiException($"{what}: {e.Message}", e);
        }
    }

    public void Dispose() => _client.Dispose();
}
