using global::System.Collections.Concurrent;
using global::System.Globalization;
using global::System.Net.Sockets;
using global::System.Text;
using global::System.Text.Json;
using global::System.Threading.Channels;

namespace Shipper.Tests.Support;

/// <summary>
/// A Docker Engine API daemon stand-in on a unix socket, answering as dockerd does over real HTTP/1.1 (keep-alive,
/// Content-Length replies, a chunked event stream): <c>/_ping</c> (with its <c>Api-Version</c> header),
/// <c>/version</c>, <c>/containers/json</c> (running containers; <c>filters={"id":[…]}</c>),
/// <c>/containers/{id}/json</c> (404 <c>{"message":"No such container: …"}</c>) and <c>/events</c> (history since
/// <c>since</c>, then live; JSON objects separated by newlines with <c>status</c>, <c>id</c>, <c>from</c>,
/// <c>Type</c>, <c>Action</c>, <c>Actor.ID</c>, <c>Actor.Attributes</c> (image, name and the labels), <c>scope</c>,
/// <c>time</c>, <c>timeNano</c>). Paths take a <c>/v1.xx</c> prefix or none, as dockerd does. <see cref="Stop"/>
/// closes the socket and every connection (a daemon going away); <see cref="Start"/> listens again.
/// </summary>
public sealed class LoopbackDocker : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, FakeContainer> _containers = new();
    private readonly List<string> _history = new();
    private readonly List<Channel<string>> _subscribers = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly object _gate = new();
    private Socket? _listener;
    private CancellationTokenSource? _stop;
    private Task? _accepting;
    private readonly List<Socket> _connections = new();

    public LoopbackDocker(string socketPath)
    {
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public string Host => "unix://" + SocketPath;

    /// <summary>The API version the daemon names in <c>/_ping</c> and <c>/version</c>.</summary>
    public string ApiVersion { get; set; } = "1.43";

    /// <summary>When set, <c>/containers/json</c> answers this body (status 200) instead of the list: a broken daemon.</summary>
    public string? ListBodyOverride { get; set; }

    /// <summary>Every request's target (path and query), in arrival order.</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    /// <summary>Event streams open now.</summary>
    public int Subscribers
    {
        get
        {
            lock (_gate)
            {
                return _subscribers.Count;
            }
        }
    }

    public sealed record FakeContainer(string Id, string Name, string Image, IReadOnlyDictionary<string, string> Labels, bool Running);

    public void Start()
    {
        File.Delete(SocketPath);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        listener.Listen(16);
        _listener = listener;
        _stop = new CancellationTokenSource();
        _accepting = AcceptAsync(listener, _stop.Token);
    }

    /// <summary>The daemon goes away: the socket is removed and every open connection (event streams too) breaks.</summary>
    public async Task Stop()
    {
        _stop?.Cancel();
        _listener?.Dispose();
        lock (_gate)
        {
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }

            _connections.Clear();
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryComplete();
            }

            _subscribers.Clear();
        }

        if (_accepting is not null)
        {
            await _accepting;
        }

        File.Delete(SocketPath);
    }

    /// <summary>A container that was running before anyone asked (no event).</summary>
    public void AddRunning(string id, string name, string image, IReadOnlyDictionary<string, string>? labels = null) =>
        _containers[id] = new FakeContainer(id, "/" + name, image, labels ?? new Dictionary<string, string>(), true);

    /// <summary>A container starts: it is listed from now on and a <c>start</c> event goes out.</summary>
    public void StartContainer(string id, string name, string image, IReadOnlyDictionary<string, string>? labels = null)
    {
        AddRunning(id, name, image, labels);
        Publish(_containers[id], "start", null);
    }

    /// <summary>A container's main process exits: it is no longer listed (still inspectable) and a <c>die</c> event goes out.</summary>
    public void DieContainer(string id, int exitCode = 0)
    {
        var container = _containers[id] with { Running = false };
        _containers[id] = container;
        Publish(container, "die", exitCode);
    }

    /// <summary>Sends one line on every open event stream as it is: a daemon (or something in its place) gone wrong.</summary>
    public void PublishRaw(string line)
    {
        lock (_gate)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(line);
            }
        }
    }

    private void Publish(FakeContainer container, string action, int? exitCode)
    {
        var now = DateTimeOffset.UtcNow;
        var nanos = now.ToUnixTimeMilliseconds() * 1_000_000;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", action);
            json.WriteString("id", container.Id);
            json.WriteString("from", container.Image);
            json.WriteString("Type", "container");
            json.WriteString("Action", action);
            json.WriteStartObject("Actor");
            json.WriteString("ID", container.Id);
            json.WriteStartObject("Attributes");
            foreach (var (key, value) in container.Labels)
            {
                json.WriteString(key, value);
            }

            if (exitCode is { } code)
            {
                json.WriteString("exitCode", code.ToString(CultureInfo.InvariantCulture));
            }

            json.WriteString("image", container.Image);
            json.WriteString("name", container.Name[1..]);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteString("scope", "local");
            json.WriteNumber("time", now.ToUnixTimeSeconds());
            json.WriteNumber("timeNano", nanos);
            json.WriteEndObject();
        }

        var line = Encoding.UTF8.GetString(buffer.ToArray());
        lock (_gate)
        {
            _history.Add(line);
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(line);
            }
        }
    }

    private async Task AcceptAsync(Socket listener, CancellationToken stop)
    {
        var served = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(stop);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                break;
            }

            lock (_gate)
            {
                _connections.Add(connection);
            }

            served.Add(ServeAsync(connection, stop));
        }

        await Task.WhenAll(served);
    }

    private async Task ServeAsync(Socket socket, CancellationToken stop)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var buffer = new byte[16 * 1024];
        var length = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                int end;
                while ((end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    var n = await stream.ReadAsync(buffer.AsMemory(length), stop);
                    if (n == 0)
                    {
                        return;
                    }

                    length += n;
                }

                var head = Encoding.ASCII.GetString(buffer, 0, end);
                buffer.AsSpan(end + 4, length - end - 4).CopyTo(buffer);
                length -= end + 4;
                var requestLine = head.Split("\r\n")[0].Split(' ');
                var target = requestLine[1];
                _requests.Enqueue(target);
                if (requestLine[0] != "GET")
                {
                    await Reply(stream, 405, "{\"message\":\"method not allowed\"}", stop);
                    continue;
                }

                if (!await Route(stream, target, stop))
                {
                    return; // an event stream ended with the connection
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _connections.Remove(socket);
            }
        }
    }

    /// <summary>Answers one request; false when the connection is done (an event stream).</summary>
    private async Task<bool> Route(NetworkStream stream, string target, CancellationToken stop)
    {
        var query = target.IndexOf('?');
        var path = query < 0 ? target : target[..query];
        var parameters = ParseQuery(query < 0 ? "" : target[(query + 1)..]);
        if (path.StartsWith("/v", StringComparison.Ordinal) && path.IndexOf('/', 1) is var slash and > 0 && char.IsDigit(path[2]))
        {
            path = path[slash..];
        }

        switch (path)
        {
            case "/_ping":
                await Reply(stream, 200, "OK", stop, "text/plain; charset=utf-8");
                return true;
            case "/version":
                await Reply(stream, 200, $$"""{"Version":"24.0.7","ApiVersion":"{{ApiVersion}}","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64"}""", stop);
                return true;
            case "/containers/json":
                await Reply(stream, 200, ListBodyOverride ?? ListJson(parameters), stop);
                return true;
            case "/events":
                await StreamEvents(stream, parameters, stop);
                return false;
        }

        if (path.StartsWith("/containers/", StringComparison.Ordinal) && path.EndsWith("/json", StringComparison.Ordinal))
        {
            var id = Uri.UnescapeDataString(path["/containers/".Length..^"/json".Length]);
            if (_containers.TryGetValue(id, out var container))
            {
                await Reply(stream, 200, InspectJson(container), stop);
            }
            else
            {
                await Reply(stream, 404, $$"""{"message":"No such container: {{id}}"}""", stop);
            }

            return true;
        }

        await Reply(stream, 404, """{"message":"page not found"}""", stop);
        return true;
    }

    private string ListJson(Dictionary<string, string> parameters)
    {
        HashSet<string>? ids = null;
        if (parameters.TryGetValue("filters", out var filters))
        {
            using var document = JsonDocument.Parse(filters);
            if (document.RootElement.TryGetProperty("id", out var idFilter))
            {
                ids = idFilter.EnumerateArray().Select(e => e.GetString()!).ToHashSet();
            }
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var container in _containers.Values.Where(c => c.Running && (ids is null || ids.Contains(c.Id))).OrderBy(c => c.Id))
            {
                json.WriteStartObject();
                json.WriteString("Id", container.Id);
                json.WriteStartArray("Names");
                json.WriteStringValue(container.Name);
                json.WriteEndArray();
                json.WriteString("Image", container.Image);
                json.WriteString("ImageID", "sha256:" + new string('e', 64));
                json.WriteString("Command", "/docker-entrypoint.sh nginx -g 'daemon off;'");
                json.WriteNumber("Created", 1700000000);
                json.WriteStartArray("Ports");
                json.WriteEndArray();
                WriteLabels(json, container);
                json.WriteString("State", "running");
                json.WriteString("Status", "Up 3 seconds");
                json.WriteStartObject("HostConfig");
                json.WriteString("NetworkMode", "default");
                json.WriteEndObject();
                json.WriteStartObject("NetworkSettings");
                json.WriteStartObject("Networks");
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteStartArray("Mounts");
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string InspectJson(FakeContainer container)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("Id", container.Id);
            json.WriteString("Created", "2023-11-14T22:13:20.000000000Z");
            json.WriteString("Path", "/docker-entrypoint.sh");
            json.WriteStartArray("Args");
            json.WriteEndArray();
            json.WriteStartObject("State");
            json.WriteString("Status", container.Running ? "running" : "exited");
            json.WriteBoolean("Running", container.Running);
            json.WriteNumber("Pid", container.Running ? 4242 : 0);
            json.WriteEndObject();
            json.WriteString("Image", "sha256:" + new string('e', 64));
            json.WriteString("Name", container.Name);
            json.WriteNumber("RestartCount", 0);
            json.WriteStartObject("Config");
            json.WriteString("Hostname", container.Id[..12]);
            json.WriteString("Image", container.Image);
            json.WriteStartArray("Env");
            json.WriteStringValue("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            json.WriteEndArray();
            WriteLabels(json, container);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteLabels(Utf8JsonWriter json, FakeContainer container)
    {
        json.WriteStartObject("Labels");
        foreach (var (key, value) in container.Labels)
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
    }

    private async Task StreamEvents(NetworkStream stream, Dictionary<string, string> parameters, CancellationToken stop)
    {
        var since = parameters.TryGetValue("since", out var s) ? long.Parse(s, CultureInfo.InvariantCulture) : long.MaxValue;
        var onlyContainers = parameters.TryGetValue("filters", out var filters) && filters.Contains("\"container\"", StringComparison.Ordinal);
        var channel = Channel.CreateUnbounded<string>();
        lock (_gate)
        {
            foreach (var line in _history)
            {
                using var document = JsonDocument.Parse(line);
                if (document.RootElement.GetProperty("time").GetInt64() >= since)
                {
                    channel.Writer.TryWrite(line);
                }
            }

            _subscribers.Add(channel);
        }

        try
        {
            var head = "HTTP/1.1 200 OK\r\nApi-Version: " + ApiVersion + "\r\nContent-Type: application/json\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Docker/24.0.7 (linux)\r\nDate: " + DateTime.UtcNow.ToString("r", CultureInfo.InvariantCulture) + "\r\nTransfer-Encoding: chunked\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), stop);
            await stream.FlushAsync(stop);
            await foreach (var line in channel.Reader.ReadAllAsync(stop))
            {
                if (onlyContainers && line.Contains("\"Type\":", StringComparison.Ordinal) && !line.Contains("\"Type\":\"container\"", StringComparison.Ordinal))
                {
                    continue;
                }

                var payload = Encoding.UTF8.GetBytes(line + "\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(payload.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), stop);
                await stream.WriteAsync(payload, stop);
                await stream.WriteAsync("\r\n"u8.ToArray(), stop);
                await stream.FlushAsync(stop);
            }
        }
        finally
        {
            lock (_gate)
            {
                _subscribers.Remove(channel);
            }
        }
    }

    private async Task Reply(NetworkStream stream, int status, string body, CancellationToken stop, string contentType = "application/json")
    {
        var reason = status switch { 200 => "OK", 404 => "Not Found", 405 => "Method Not Allowed", _ => "Error" };
        var bytes = Encoding.UTF8.GetBytes(status == 200 && contentType == "application/json" ? body + "\n" : body);
        var head = $"HTTP/1.1 {status} {reason}\r\nApi-Version: {ApiVersion}\r\nContent-Type: {contentType}\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Docker/24.0.7 (linux)\r\nDate: {DateTime.UtcNow.ToString("r", CultureInfo.InvariantCulture)}\r\nContent-Length: {bytes.Length}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), stop);
        await stream.WriteAsync(bytes, stop);
        await stream.FlushAsync(stop);
    }

    private static Dictionary<string, string> ParseQuery(string query)
    {
        var result = new Dictionary<string, string>();
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            result[Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq])] = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
        }

        return result;
    }

    public async ValueTask DisposeAsync() => await Stop();
}
