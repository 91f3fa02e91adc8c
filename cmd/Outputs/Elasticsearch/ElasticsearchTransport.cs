using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Shipper.Events;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// The HTTP side: one <see cref="HttpClient"/> over a <see cref="SocketsHttpHandler"/> (HTTP/1.1, keep-alive,
/// TLS as configured, sockets wrapped to count wire bytes), authentication and custom headers on every
/// request, the per-request timeout on the injected clock, and replies read into pooled buffers within a
/// <see cref="ReplyLimit"/> (<see cref="ReplyReader"/>).
/// </summary>
public sealed class ElasticsearchTransport : IDisposable
{
    private readonly ElasticsearchSettings _settings;
    private readonly TimeProvider _time;
    private readonly OutputMetrics? _metrics;
    private readonly HttpClient _client;
    private readonly string? _authorization;

    public ElasticsearchTransport(ElasticsearchSettings settings, OutputMetrics? metrics, TimeProvider time)
    {
        _settings = settings;
        _time = time;
        _metrics = metrics;
        Validator = new CertificateValidator(settings.Ssl);

        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = settings.IdleConnectionTimeout > TimeSpan.Zero ? settings.IdleConnectionTimeout : Timeout.InfiniteTimeSpan,
            ConnectTimeout = settings.Timeout,
            // ReplyReader inflates gzip itself, so that both the compressed and the inflated size are capped.
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = !settings.ProxyDisable,
            Proxy = settings.ProxyUrl is null || settings.ProxyDisable ? null : new WebProxy(settings.ProxyUrl),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                    return new CountingStream(new NetworkStream(socket, ownsSocket: true), metrics);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = CreateSslOptions(settings.Ssl, Validator),
        };

        _client = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        if (settings.ApiKey is not null)
        {
            _authorization = "ApiKey " + Convert.ToBase64String(Encoding.UTF8.GetBytes(settings.ApiKey));
        }
        else if (settings.Username is not null || settings.Password is not null)
        {
            _authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes((settings.Username ?? "") + ":" + (settings.Password ?? "")));
        }
    }

    public CertificateValidator Validator { get; }

    public static string UserAgent { get; } = "Shipper/" + BuildInfo.Version + " (linux; " + RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant() + "; " + BuildInfo.Commit + ")";

    public static SslClientAuthenticationOptions CreateSslOptions(SslSettings ssl, CertificateValidator validator)
    {
        var options = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = validator.Validate,
        };
        if (ssl.Enabled)
        {
            options.EnabledSslProtocols = ssl.Protocols;
            if (ssl.ClientCertificate is not null)
            {
                options.ClientCertificates = new global::System.Security.Cryptography.X509Certificates.X509CertificateCollection { ssl.ClientCertificate };
            }
        }

        return options;
    }

    public HttpRequestMessage CreateRequest(HttpMethod method, Uri url, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_settings.CompressionLevel > 0)
        {
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        }

        if (_authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", _authorization);
        }

        // As libbeat: configured headers replace Content-Type and Accept, and are added to everything else.
        foreach (var (name, value) in _settings.Headers)
        {
            if (string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                if (content is not null)
                {
                    content.Headers.Remove("Content-Type");
                    content.Headers.TryAddWithoutValidation("Content-Type", value);
                }
            }
            else if (string.Equals(name, "Accept", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Accept.Clear();
                request.Headers.TryAddWithoutValidation("Accept", value);
            }
            else if (string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Host = value;
            }
            else
            {
                foreach (var part in value.Split(','))
                {
                    request.Headers.TryAddWithoutValidation(name, part.Trim());
                }
            }
        }

        return request;
    }

    /// <summary>
    /// Sends a request and reads the whole reply, at most <paramref name="replyLimit"/> bytes of it. Throws
    /// <see cref="TimeoutException"/> when <c>timeout</c> passes, <see cref="OperationCanceledException"/> only
    /// when <paramref name="cancellationToken"/> fired, <see cref="ReplyException"/> for a reply that is too
    /// large, broke off or cannot be decoded, and <see cref="HttpRequestException"/> / <see cref="IOException"/>
    /// for connection problems.
    /// </summary>
    public async Task<EsResponse> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        await SendAsync(request, ReplyLimit.Default, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="SendAsync(HttpRequestMessage, CancellationToken)"/>
    public async Task<EsResponse> SendAsync(HttpRequestMessage request, int replyLimit, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_settings.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            HttpResponseMessage response;
            try
            {
                response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse or HttpRequestError.ConfigurationLimitExceeded
                && !ReplyReader.HasSocketError(e))
            {
                // The server closed the connection or sent something that is not HTTP instead of a reply.
                _metrics?.ReadErrors.Increment();
                throw new ReplyException($"no complete reply ({DescribeFailure(e)})", e);
            }

            using (response)
            {
                string? product = response.Headers.TryGetValues("X-Elastic-Product", out var values) ? values.FirstOrDefault() : null;
                if (request.Method == HttpMethod.Head)
                {
                    // No body follows; its Content-Length is the GET body's and must not be held against the cap.
                    return new EsResponse((int)response.StatusCode, product, Array.Empty<byte>(), 0);
                }

                var (buffer, length) = await ReplyReader.ReadAsync(response.Content, replyLimit, _metrics, linked.Token).ConfigureAwait(false);
                return new EsResponse((int)response.StatusCode, product, buffer, length);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"no reply within {Module.Config.ValueParsers.FormatDuration(_settings.Timeout)} (output.elasticsearch.timeout)");
        }
    }

    public async Task<EsResponse> GetAsync(Uri url, CancellationToken cancellationToken)
    {
        using var request = CreateRequest(HttpMethod.Get, url);
        return await SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Describes a failed request for a log line: the TLS refusal reason when there is one, else the innermost message.</summary>
    public string DescribeFailure(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is global::System.Security.Authentication.AuthenticationException && Validator.LastFailure is { } tls)
            {
                return "TLS handshake failed: " + tls;
            }
        }

        var message = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!message.Contains(inner.Message, StringComparison.Ordinal))
            {
                message += ": " + inner.Message;
            }
        }

        return message;
    }

    public void Dispose() => _client.Dispose();
}
