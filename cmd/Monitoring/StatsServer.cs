using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Monitoring;

/// <summary>
/// The local monitoring endpoint (<c>http.enabled</c>): <c>GET</c> or <c>HEAD</c> of <c>/</c> (who we are),
/// <c>/stats</c> (the metrics registry as nested JSON) and <c>/state</c> (configuration summary). HTTP/1.1 on
/// a plain socket, one request per connection: it is for curl and Metricbeat, not for the open network, and
/// bounded so that no client can starve the others or the shipper: at most <see cref="MaxConnections"/>
/// connections, <see cref="MaxRequestBytes"/> of request line and headers, <see cref="RequestTimeout"/> to
/// send them and <see cref="ResponseTimeout"/> to take the answer.
/// </summary>
public sealed class StatsServer : IAsyncDisposable
{
    public const int MaxConnections = 16;

    /// <summary>Request line and headers together; more is answered 431.</summary>
    public const int MaxRequestBytes = 8192;

    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(10);

    private static readonly byte[] BusyResponse = Encoding.ASCII.GetBytes(Head(503, "text/plain; charset=utf-8", "busy\n"u8.Length, "Retry-After: 1\r\n") + "busy\n");

    private readonly TcpListener _listener;
    private readonly string _host;
    private readonly MetricsRegistry _metrics;
    private readonly AgentInfo _agent;
    private readonly HostInfo _hostInfo;
    private readonly Func<IReadOnlyDictionary<string, string>> _state;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private readonly int _maxConnections;
    private readonly Counter _rejected;
    private readonly Counter _timedOut;
    private readonly object _gate = new();

    // In the order they were accepted, so the first one not being answered is the one idle the longest.
    private readonly List<StatsConnection> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <param name="maxConnections">Connections served at once; <see cref="MaxConnections"/> unless a test wants fewer.</param>
    public StatsServer(string host, int port, MetricsRegistry metrics, AgentInfo agent, HostInfo hostInfo, Func<IReadOnlyDictionary<string, string>> state, Logger log, TimeProvider? time = null, int maxConnections = MaxConnections)
    {
        var address = host is "localhost" or "" ? IPAddress.Loopback : IPAddress.TryParse(host, out var ip) ? ip : Dns.GetHostAddresses(host)[0];
        _listener = new TcpListener(address, port);
        _host = host;
        _metrics = metrics;
        _agent = agent;
        _hostInfo = hostInfo;
        _state = state;
        _log = log;
        _time = time ?? TimeProvider.System;
        _maxConnections = maxConnections;
        _rejected = metrics.Counter("http.connections.rejected");
        _timedOut = metrics.Counter("http.connections.timed_out");
        metrics.GaugeFunc("http.connections.active", () =>
        {
            lock (_gate)
            {
                return _open.Count;
            }
        });
    }

    public IPEndPoint LocalEndpoint => (IPEndPoint)_listener.LocalEndpoint;

    public void Start()
    {
        _listener.Start();
        _log.Info($"monitoring endpoint listening on http://{LocalEndpoint}");
        if (!IPAddress.IsLoopback(LocalEndpoint.Address))
        {
            _log.Warn($"http.host {_host} is not a loopback address: other hosts can reach http://{LocalEndpoint} without authentication: / (agent name, id, version, hostname), /stats (every metric) and /state (configuration summary)");
        }

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

            var connection = new StatsConnection(client, RequestTimeout, _time, stop);
            if (Admit(connection))
            {
                _ = ServeAsync(connection);
            }
            else
            {
                _rejected.Increment();
                Refuse(connection);
            }
        }
    }

    /// <summary>
    /// Takes a slot for a new connection. At the limit, the connection idle the longest (still waiting for
    /// its request) is closed to make room, so that idle connections cannot lock out a real request; only
    /// when every slot is being answered is the new one refused.
    /// </summary>
    private bool Admit(StatsConnection connection)
    {
        StatsConnection? evicted = null;
        lock (_gate)
        {
            if (_open.Count >= _maxConnections)
            {
                evicted = _open.Find(static c => !c.Answering);
                if (evicted is null)
                {
                    return false;
                }

                evicted.Evicted = true;
                _open.Remove(evicted);
            }

            _open.Add(connection);
        }

        if (evicted is not null)
        {
            _rejected.Increment();
            evicted.Drop();
        }

        return true;
    }

    private void Refuse(StatsConnection connection)
    {
        using var _ = connection;
        try
        {
            // Synchronous: a new socket's empty send buffer takes these few bytes at once.
            connection.Socket.Send(BusyResponse);
            connection.Socket.Shutdown(SocketShutdown.Send);
            DiscardArrived(connection.Socket);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(StatsConnection connection)
    {
        var client = connection.Socket;
        try
        {
            var buffer = new byte[MaxRequestBytes];
            var filled = 0;
            int headerEnd;
            while ((headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
            {
                if (filled == buffer.Length)
                {
                    await AnswerAsync(connection, 431, "text/plain; charset=utf-8", Encoding.ASCII.GetBytes($"request line and headers over {MaxRequestBytes} bytes\n"), withBody: true, requestLeftUnread: true).ConfigureAwait(false);
                    return;
                }

                int read;
                try
                {
                    read = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, connection.Reading).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (connection.RequestTimedOut)
                {
                    // Slowloris: a client that never finishes its request would hold its slot for ever.
                    _timedOut.Increment();
                    return;
                }

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
                await AnswerAsync(connection, 400, "text/plain; charset=utf-8", "bad request\n"u8.ToArray(), withBody: true).ConfigureAwait(false);
                return;
            }

            var method = parts[0];
            var withBody = method != "HEAD";
            if (method != "GET" && method != "HEAD")
            {
                await AnswerAsync(connection, 405, "text/plain; charset=utf-8", "only GET and HEAD are supported\n"u8.ToArray(), withBody: true, extraHeaders: "Allow: GET, HEAD\r\n").ConfigureAwait(false);
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
                await AnswerAsync(connection, 404, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes($"not found: {path} (try /, /stats or /state)\n"), withBody).ConfigureAwait(false);
                return;
            }

            await AnswerAsync(connection, 200, "application/json; charset=utf-8", body, withBody).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // A client that goes away, stalls or is dropped only loses its own answer.
        }
        finally
        {
            lock (_gate)
            {
                _open.Remove(connection);
            }

            connection.Dispose();
        }
    }

    /// <summary>
    /// Sends the answer; HEAD gets the same headers, Content-Length included, without the body. A client that
    /// does not take it within <see cref="ResponseTimeout"/> is dropped.
    /// </summary>
    /// <param name="requestLeftUnread">
    /// The client may still be sending: read and discard what follows (up to a bound) so that closing does not
    /// reset the connection before the client has read the answer.
    /// </param>
    private async Task AnswerAsync(StatsConnection connection, int status, string contentType, byte[] body, bool withBody, bool requestLeftUnread = false, string extraHeaders = "")
    {
        lock (_gate)
        {
            if (connection.Evicted)
            {
                return;
            }

            connection.Answering = true;
        }

        using var deadline = new CancellationTokenSource(ResponseTimeout, _time);
        using var sending = CancellationTokenSource.CreateLinkedTokenSource(connection.Dropped, deadline.Token);
        var client = connection.Socket;
        try
        {
            var head = Encoding.ASCII.GetBytes(Head(status, contentType, body.Length, extraHeaders));
            await client.SendAsync(head, SocketFlags.None, sending.Token).ConfigureAwait(false);
            if (withBody && body.Length > 0)
            {
                await client.SendAsync(body, SocketFlags.None, sending.Token).ConfigureAwait(false);
            }

            client.Shutdown(SocketShutdown.Send);
            lock (_gate)
            {
                connection.Answering = false;
            }

            if (requestLeftUnread)
            {
                var discard = ArrayPool<byte>.Shared.Rent(MaxRequestBytes);
                try
                {
                    for (var total = 0; total < 8 * MaxRequestBytes;)
                    {
                        var read = await client.ReceiveAsync(discard, SocketFlags.None, sending.Token).ConfigureAwait(false);
                        if (read == 0)
                        {
                            break;
                        }

                        total += read;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(discard);
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !connection.Dropped.IsCancellationRequested)
        {
            _timedOut.Increment();
        }
    }

    private static string Head(int status, string contentType, int contentLength, string extraHeaders = "")
    {
        var reason = status switch
        {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            431 => "Request Header Fields Too Large",
            _ => "Service Unavailable",
        };
        return string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {contentLength}\r\n{extraHeaders}Connection: close\r\n\r\n");
    }

    /// <summary>Reads what the client already sent, so that closing does not turn into a reset that loses our answer.</summary>
    private static void DiscardArrived(Socket client)
    {
        var available = Math.Min(client.Available, MaxRequestBytes);
        if (available > 0)
        {
            client.Receive(new byte[available]);
        }
    }

    private void WriteInfo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("beat", "shipper");
        w.WriteString("name", _agent.Name);
        w.WriteString("hostname", _hostInfo.Hostname);
        w.WriteString("uuid", _agent.Id);
        w.WriteString("ephemeral_id", _agent.EphemeralId);
        w.WriteString("version", _agent.Version);
        w.WriteString("build_commit", BuildInfo.Commit);
        w.WriteString("binary_arch", _hostInfo.Architecture);
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
}
