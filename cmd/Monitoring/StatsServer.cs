using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Monitoring;

/// <summary>
/// The local monitoring endpoint (<c>http.enabled</c>): <c>GET /</c> (who we are), <c>/stats</c> (the metrics
/// registry as nested JSON) and <c>/state</c> (configuration summary). HTTP/1.1 on a plain socket, one
/// request per connection: it is for curl and Metricbeat, not for the open network.
/// </summary>
public sealed class StatsServer : IAsyncDisposable
{
    private const int MaxRequestBytes = 8192;

    private readonly TcpListener _listener;
    private readonly MetricsRegistry _metrics;
    private readonly AgentInfo _agent;
    private readonly HostInfo _host;
    private readonly Func<IReadOnlyDictionary<string, string>> _state;
    private readonly Logger _log;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public StatsServer(string host, int port, MetricsRegistry metrics, AgentInfo agent, HostInfo hostInfo, Func<IReadOnlyDictionary<string, string>> state, Logger log)
    {
        var address = host is "localhost" or "" ? IPAddress.Loopback : IPAddress.TryParse(host, out var ip) ? ip : Dns.GetHostAddresses(host)[0];
        _listener = new TcpListener(address, port);
        _metrics = metrics;
        _agent = agent;
        _host = hostInfo;
        _state = state;
        _log = log;
    }

    public IPEndPoint LocalEndpoint => (IPEndPoint)_listener.LocalEndpoint;

    public void Start()
    {
        _listener.Start();
        _log.Info($"monitoring endpoint listening on http://{LocalEndpoint}");
        _loop = AcceptLoopAsync(_stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task AcceptLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServeAsync(client, stop);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stop)
    {
        using var _ = client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            var buffer = new byte[MaxRequestBytes];
            var filled = 0;
            int headerEnd;
            while ((headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
            {
                if (filled == buffer.Length)
                {
                    await RespondAsync(client, 431, "text/plain", "request headers too large\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                    return;
                }

                var read = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                filled += read;
            }

            var requestLine = Encoding.ASCII.GetString(buffer, 0, buffer.AsSpan(0, headerEnd).IndexOf("\r\n"u8) is var eol and >= 0 ? eol : headerEnd);
            var parts = requestLine.Split(' ');
            if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
            {
                await RespondAsync(client, 400, "text/plain", "bad request\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                return;
            }

            if (parts[0] != "GET" && parts[0] != "HEAD")
            {
                await RespondAsync(client, 405, "text/plain", "only GET is supported\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                return;
            }

            var target = parts[1];
            var query = target.IndexOf('?');
            var path = query >= 0 ? target[..query] : target;
            var pretty = query >= 0 && target[(query + 1)..].Split('&').Contains("pretty");
            byte[]? body = path switch
            {
                "/" => Json(pretty, WriteInfo),
                "/stats" => Json(pretty, w => MetricsJson.Write(w, _metrics.Snapshot())),
                "/state" => Json(pretty, WriteState),
                _ => null,
            };
            if (body is null)
            {
                await RespondAsync(client, 404, "text/plain", Encoding.UTF8.GetBytes($"not found: {path} (try /, /stats or /state)\n"), timeout.Token).ConfigureAwait(false);
                return;
            }

            await RespondAsync(client, 200, "application/json; charset=utf-8", parts[0] == "HEAD" ? Array.Empty<byte>() : body, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
        {
            // A client that goes away or stalls only loses its own answer.
        }
    }

    private void WriteInfo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("beat", "shipper");
        w.WriteString("name", _agent.Name);
        w.WriteString("hostname", _host.Hostname);
        w.WriteString("uuid", _agent.Id);
        w.WriteString("ephemeral_id", _agent.EphemeralId);
        w.WriteString("version", _agent.Version);
        w.WriteString("build_commit", BuildInfo.Commit);
        w.WriteString("binary_arch", _host.Architecture);
        w.WriteString("runtime", Environment.Version.ToString());
        w.WriteEndObject();
    }

    private void WriteState(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        foreach (var (key, value) in _state())
        {
            w.WriteString(key, value);
        }

        w.WriteEndObject();
    }

    private static byte[] Json(bool pretty, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = pretty }))
        {
            write(writer);
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static async Task RespondAsync(Socket client, int status, string contentType, byte[] body, CancellationToken cancellationToken)
    {
        var reason = status switch { 200 => "OK", 400 => "Bad Request", 404 => "Not Found", 405 => "Method Not Allowed", _ => "Request Header Fields Too Large" };
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await client.SendAsync(head, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        if (body.Length > 0)
        {
            await client.SendAsync(body, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }

        client.Shutdown(SocketShutdown.Send);
    }
}
