using System.Net;
using System.Net.Http;
using System.Net.Sockets;

namespace Shipper.Containers.Docker;

/// <summary>
/// Where the Docker API listens, from <c>add_docker_metadata.host</c>: <c>unix:///path/to/docker.sock</c> (the
/// default) or <c>tcp://host:port</c> / <c>http://host:port</c> (plain HTTP; TLS is not supported).
/// </summary>
public sealed class DockerEndpoint
{
    private DockerEndpoint(string text, string? socketPath, string? host, int port)
    {
        Text = text;
        SocketPath = socketPath;
        Host = host;
        Port = port;
    }

    /// <summary>The setting as written, for messages.</summary>
    public string Text { get; }

    /// <summary>The unix socket's path; null for TCP.</summary>
    public string? SocketPath { get; }

    public string? Host { get; }

    public int Port { get; }

    /// <summary>The base address requests are written against (the connection goes wherever the callback takes it).</summary>
    public Uri BaseAddress => SocketPath is null ? new Uri($"http://{FormatHost(Host!)}:{Port}/") : new Uri("http://docker/");

    public static DockerEndpoint Parse(string text)
    {
        if (text.StartsWith("unix://", StringComparison.Ordinal))
        {
            var path = text["unix://".Length..];
            if (path.Length == 0 || path[0] != '/')
            {
                throw new FormatException($"'{text}' is not a unix socket address; expected unix:///absolute/path/docker.sock");
            }

            return new DockerEndpoint(text, path, null, 0);
        }

        var scheme = text.StartsWith("tcp://", StringComparison.Ordinal) ? "tcp://" : text.StartsWith("http://", StringComparison.Ordinal) ? "http://" : null;
        if (scheme is null)
        {
            var hint = text.StartsWith("https://", StringComparison.Ordinal) ? " (TLS to the Docker API is not supported)" : "";
            throw new FormatException($"'{text}' is not a Docker API address{hint}; expected unix:///path/docker.sock, tcp://host:port or http://host:port");
        }

        if (!Uri.TryCreate("http://" + text[scheme.Length..].TrimEnd('/'), UriKind.Absolute, out var uri) || uri.AbsolutePath != "/" || uri.IsDefaultPort || uri.Host.Length == 0)
        {
            throw new FormatException($"'{text}' is not a Docker API address; expected {scheme}host:port (the port is required)");
        }

        return new DockerEndpoint(text, null, uri.Host.Trim('[', ']'), uri.Port);
    }

    /// <summary>An HTTP/1.1 client whose connections go to this endpoint (the unix socket, or the TCP address).</summary>
    public HttpClient CreateClient(TimeSpan connectTimeout)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectCallback = async (context, cancellationToken) =>
            {
                Socket socket;
                EndPoint target;
                if (SocketPath is not null)
                {
                    socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    target = new UnixDomainSocketEndPoint(SocketPath);
                }
                else
                {
                    socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    target = context.DnsEndPoint;
                }

                try
                {
                    await socket.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };

        return new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    private static string FormatHost(string host) => host.Contains(':') ? $"[{host}]" : host;

    public override string ToString() => Text;
}
