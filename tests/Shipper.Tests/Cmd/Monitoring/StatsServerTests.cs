using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Monitoring;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Monitoring;

/// <summary>The monitoring endpoint's limits, against the real server on loopback.</summary>
public sealed class StatsServerTests : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly MetricsRegistry _metrics = new();
    private readonly FakeTimeProvider _time = new();
    private readonly List<Socket> _clients = new();
    private readonly CollectingLogSink _log = new();
    private IReadOnlyDictionary<string, string> _state = new Dictionary<string, string> { ["output.name"] = "console" };
    private StatsServer? _server;

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private StatsServer Start(string host = "127.0.0.1", int maxConnections = StatsServer.MaxConnections)
    {
        var agent = new AgentInfo { Name = "n", Version = "1.0.0", Id = "id-1", EphemeralId = "e" };
        _server = new StatsServer(host, 0, _metrics, agent, HostInfo.Read(), () => _state, new Logger(_log, "monitoring"), _time, maxConnections);
        _server.Start();
        return _server;
    }

    private long Metric(string name) => _metrics.Snapshot().Single(m => m.Name == name).Number;

    private Socket Connect(int? receiveBuffer = null)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = (int)Patience.TotalMilliseconds };
        if (receiveBuffer is { } size)
        {
            client.ReceiveBufferSize = size;
        }

        _clients.Add(client);
        client.Connect(new IPEndPoint(IPAddress.Loopback, _server!.LocalEndpoint.Port));
        return client;
    }

    /// <summary>Everything the server sends until it closes the connection.</summary>
    private static byte[] ReadToEnd(Socket client)
    {
        var all = new MemoryStream();
        var buffer = new byte[65536];
        int read;
        while ((read = client.Receive(buffer)) > 0)
        {
            all.Write(buffer, 0, read);
        }

        return all.ToArray();
    }

    /// <summary>True once the server has closed the connection (end of stream or reset), without sending anything.</summary>
    private static bool ClosedByServer(Socket client)
    {
        try
        {
            return client.Receive(new byte[1]) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }

    private static (string Head, byte[] Body) Exchange(Socket client, string request)
    {
        client.Send(Encoding.ASCII.GetBytes(request));
        return Split(ReadToEnd(client));
    }

    private static (string Head, byte[] Body) Split(byte[] response)
    {
        var end = response.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(end >= 0, "no end of headers in: " + Encoding.ASCII.GetString(response));
        return (Encoding.ASCII.GetString(response, 0, end + 2), response[(end + 4)..]);
    }

    private static int ContentLength(string head)
    {
        var line = head.Split("\r\n").Single(l => l.StartsWith("Content-Length: ", StringComparison.Ordinal));
        return int.Parse(line["Content-Length: ".Length..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task IdleConnectionsBeyondTheLimitDoNotLockOutARealRequest()
    {
        Start();
        var idle = new List<Socket>();
        for (var i = 0; i < StatsServer.MaxConnections + 4; i++)
        {
            var client = Connect();
            client.Send("GET /stats HTTP/1.1\r\n"u8.ToArray()); // and never the rest
            idle.Add(client);
        }

        // The rule: at the limit, the connection waiting longest for its request makes room for the new one.
        await Eventually.True(() => Metric("http.connections.rejected") == 4, Patience);
        Assert.Equal(StatsServer.MaxConnections, Metric("http.connections.active"));

        using var http = new HttpClient { BaseAddress = new Uri($"http://{_server!.LocalEndpoint}") };
        using var stats = JsonDocument.Parse(await http.GetStringAsync("/stats"));
        var counters = stats.RootElement.GetProperty("http").GetProperty("connections");
        Assert.Equal(5, counters.GetProperty("rejected").GetInt64());
        Assert.Equal(StatsServer.MaxConnections, counters.GetProperty("active").GetInt64());

        // The five oldest were closed; the newest idle ones still wait for their requests.
        Assert.All(idle.Take(5), c => Assert.True(ClosedByServer(c)));
        var (head, body) = Exchange(idle[^1], "Host: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", head);
        Assert.Equal(ContentLength(head), body.Length);
    }

    [Fact]
    public async Task WhenEverySlotIsBeingAnsweredTheNextConnectionGets503UntilSlowReadersTimeOut()
    {
        // Slow readers: a /state too big for the socket buffers, requested by clients that read none of it.
        _state = new Dictionary<string, string> { ["big"] = new string('x', 8 << 20) };
        Start(maxConnections: 2);
        var slow = new[] { Connect(receiveBuffer: 4096), Connect(receiveBuffer: 4096) };
        foreach (var client in slow)
        {
            client.Send("GET /state HTTP/1.1\r\n\r\n"u8.ToArray());
        }

        await Eventually.True(() => slow.All(c => c.Available > 0), Patience); // their answers have begun

        var (head, body) = Split(ReadToEnd(Connect()));
        Assert.StartsWith("HTTP/1.1 503 Service Unavailable\r\n", head);
        Assert.Contains("Retry-After: 1\r\n", head);
        Assert.Equal(ContentLength(head), body.Length);
        Assert.Equal(1, Metric("http.connections.rejected"));

        // A reader that takes nothing for the response timeout loses its slot.
        _time.Advance(StatsServer.ResponseTimeout);
        await Eventually.True(() => Metric("http.connections.timed_out") == 2 && Metric("http.connections.active") == 0, Patience);
        var (ok, _) = Exchange(Connect(), "GET /stats HTTP/1.1\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", ok);
    }

    [Fact]
    public async Task AClientThatNeverFinishesItsRequestIsDroppedAfterTheTimeoutNotBefore()
    {
        Start();
        var slowButInTime = Connect();
        var neverDone = Connect();
        slowButInTime.Send("GET /stats HTTP/1.1\r\n"u8.ToArray());
        neverDone.Send("GET /stats HTTP/1.1\r\nHost: x\r\n"u8.ToArray());
        await Eventually.True(() => Metric("http.connections.active") == 2, Patience);

        _time.Advance(StatsServer.RequestTimeout - TimeSpan.FromMilliseconds(100));
        var (head, _) = Exchange(slowButInTime, "\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", head);

        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(ClosedByServer(neverDone));
        await Eventually.True(() => Metric("http.connections.timed_out") == 1 && Metric("http.connections.active") == 0, Patience);
    }

    [Fact]
    public void RequestHeadersOverTheLimitGet431AndJustUnderAreServed()
    {
        Start();
        string Request(int filler) => "GET /stats HTTP/1.1\r\nX-Filler: " + new string('a', filler) + "\r\n\r\n";

        var (tooLarge, message) = Exchange(Connect(), Request(StatsServer.MaxRequestBytes));
        Assert.StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n", tooLarge);
        Assert.Equal("request line and headers over 8192 bytes\n", Encoding.ASCII.GetString(message));

        var fits = Request(0);
        var (ok, _) = Exchange(Connect(), Request(StatsServer.MaxRequestBytes - fits.Length));
        Assert.StartsWith("HTTP/1.1 200 OK", ok);
    }

    [Theory]
    [InlineData("/stats")]
    [InlineData("/")]
    [InlineData("/state?pretty")]
    [InlineData("/nope")]
    public void HeadSendsGetsHeadersWithItsContentLengthAndNoBody(string path)
    {
        Start();
        var (getHead, getBody) = Exchange(Connect(), $"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        var (head, body) = Exchange(Connect(), $"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(getHead, head);
        Assert.Equal(getBody.Length, ContentLength(head));
        Assert.True(getBody.Length > 0);
        Assert.Empty(body);
    }

    [Fact]
    public void ANonLoopbackAddressIsWarnedAboutWithWhatItExposes()
    {
        Start("0.0.0.0");
        var warning = Assert.Single(_log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal));
        Assert.Contains("http.host 0.0.0.0 is not a loopback address", warning);
        Assert.Contains("/ (agent name, id, version, hostname), /stats (every metric) and /state (configuration summary)", warning);
    }

    [Fact]
    public void LoopbackIsNotWarnedAbout()
    {
        Start("localhost");
        Assert.DoesNotContain(_log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal));
    }
}
