using global::System.Text;
using Microsoft.Extensions.Time.Testing;
using Shipper.Containers.Docker;
using Shipper.Module.Logging;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Containers.Docker;

/// <summary>The add_docker_metadata watcher against a loopback Docker daemon on a unix socket.</summary>
public sealed class DockerWatcherTests : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private const string Web = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
    private const string Db = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b";

    private readonly TempDirectory _dir = new();
    private readonly LoopbackDocker _docker;
    private readonly FakeTimeProvider _time = new();
    private readonly CollectingLogSink _log = new();
    private readonly CancellationTokenSource _stop = new();
    private DockerWatcher? _watcher;
    private Task? _running;

    public DockerWatcherTests()
    {
        _docker = new LoopbackDocker(_dir.Combine("docker.sock"));
    }

    [Fact]
    public async Task ARunningContainerGetsItsNameImageAndDedottedLabels()
    {
        _docker.AddRunning(Web, "web-1", "nginx:1.27", new Dictionary<string, string> { ["com.example.tier"] = "front", ["maintainer"] = "ops" });
        _docker.Start();

        var watcher = StartWatcher();
        await Eventually.True(() => watcher.Connected, Patience);

        var metadata = watcher.Find(Web);
        Assert.NotNull(metadata);
        Assert.Equal("web-1", metadata.Name);
        Assert.Equal("nginx:1.27", metadata.ImageName);
        Assert.Equal("""{"com_example_tier":"front","maintainer":"ops"}""", Encoding.UTF8.GetString(metadata.LabelsJson!));
    }

    [Fact]
    public async Task WithoutDedotLabelsNestOnTheirDots()
    {
        _docker.AddRunning(Web, "web-1", "nginx:1.27", new Dictionary<string, string> { ["com.example.tier"] = "front", ["com.example"] = "x" });
        _docker.Start();

        var watcher = StartWatcher(dedot: false);
        await Eventually.True(() => watcher.Connected, Patience);

        Assert.Equal("""{"com":{"example":{"tier":"front","value":"x"}}}""", Encoding.UTF8.GetString(watcher.Find(Web)!.LabelsJson!));
    }

    [Fact]
    public async Task TheApiVersionIsNegotiatedFromPing()
    {
        _docker.ApiVersion = "1.30";
        _docker.Start();

        var watcher = StartWatcher();
        await Eventually.True(() => watcher.Connected, Patience);

        Assert.Equal("/_ping", _docker.Requests.First());
        Assert.Contains("/v1.30/containers/json", _docker.Requests);
        Assert.Contains(_docker.Requests, r => r.StartsWith("/v1.30/events?filters=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANewerDaemonIsSpokenToInTheNewestVersionThisClientKnows()
    {
        _docker.ApiVersion = "1.47";
        _docker.Start();

        var watcher = StartWatcher();
        await Eventually.True(() => watcher.Connected, Patience);

        Assert.Contains("/v1.41/containers/json", _docker.Requests);
    }

    [Fact]
    public async Task AContainerStartedLaterIsLearnedFromItsStartEvent()
    {
        _docker.Start();
        var watcher = StartWatcher();
        await Eventually.True(() => watcher.Connected && _docker.Subscribers == 1, Patience);

        _docker.StartContainer(Db, "db", "postgres:16", new Dictionary<string, string> { ["app"] = "billing" });

        await Eventually.True(() => watcher.Count == 1, Patience);
        var metadata = watcher.Find(Db);
        Assert.Equal("db", metadata?.Name);
        Assert.Equal("postgres:16", metadata?.ImageName);
        Assert.Contains(_docker.Requests, r => r.Contains("/containers/json?filters=", StringComparison.Ordinal) && Uri.UnescapeDataString(r).Contains(Db, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADeadContainerKeepsItsMetadataForTheCleanupTimeout()
    {
        _docker.AddRunning(Web, "web-1", "nginx:1.27");
        _docker.Start();
        var watcher = StartWatcher(cleanup: TimeSpan.FromSeconds(60));
        await Eventually.True(() => watcher.Connected && _docker.Subscribers == 1, Patience);

        _docker.DieContainer(Web, exitCode: 137);
        await Eventually.True(() => watcher.DeadCount == 1, Patience);

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("web-1", watcher.Find(Web)?.Name);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(watcher.Find(Web));
        await Eventually.True(() => watcher.Count == 0, Patience); // the cleanup timer dropped it
    }

    [Fact]
    public async Task AnIdTheWatcherDoesNotKnowIsInspectedOnceInTheBackground()
    {
        _docker.Start();
        var watcher = StartWatcher();
        await Eventually.True(() => watcher.Connected, Patience);

        // Running, but its start event was never seen (the race right after a start).
        _docker.AddRunning(Web, "web-1", "nginx:1.27");
        Assert.Null(watcher.Find(Web)); // the document path never waits
        await Eventually.True(() => watcher.Find(Web) is not null, Patience);
        Assert.Equal("nginx:1.27", watcher.Find(Web)!.ImageName);

        // Not Docker's (a CRI-O container, say): 404, asked about once however many documents name it.
        for (var i = 0; i < 20; i++)
        {
            Assert.Null(watcher.Find(Db));
        }

        await Eventually.True(() => _docker.Requests.Any(r => r.EndsWith($"/containers/{Db}/json", StringComparison.Ordinal)), Patience);
        for (var i = 0; i < 20; i++)
        {
            Assert.Null(watcher.Find(Db));
        }

        Assert.Single(_docker.Requests, r => r.EndsWith($"/containers/{Db}/json", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADaemonDownAtStartIsSaidOnceAndFollowedWhenItComesUp()
    {
        _docker.AddRunning(Web, "web-1", "nginx:1.27");
        var watcher = StartWatcher();
        await Eventually.True(() => Warnings().Length == 1, Patience);
        Assert.Null(watcher.Find(Web));

        // Two more failed tries (1 s, then 2 s of backoff): still one warning.
        await AdvanceUntil(() => Attempts() >= 2, TimeSpan.FromSeconds(1));
        await AdvanceUntil(() => Attempts() >= 3, TimeSpan.FromSeconds(2));
        Assert.Single(Warnings());
        Assert.Contains($"cannot reach the Docker API at {_docker.Host}: no socket at {_docker.SocketPath}", Warnings()[0], StringComparison.Ordinal);

        _docker.Start();
        await AdvanceUntil(() => watcher.Connected, TimeSpan.FromSeconds(4));
        Assert.Equal("web-1", watcher.Find(Web)?.Name);
        Assert.Contains(_log.Lines, l => l.StartsWith("Info", StringComparison.Ordinal) && l.Contains("following the Docker API", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADaemonThatGoesAwayAndComesBackIsFollowedAgain()
    {
        _docker.AddRunning(Web, "web-1", "nginx:1.27");
        _docker.Start();
        var watcher = StartWatcher();
        await Eventually.True(() => watcher.Connected, Patience);

        await _docker.Stop();
        await Eventually.True(() => !watcher.Connected, Patience);
        _docker.StartContainer(Db, "db", "postgres:16"); // while away: no one hears the event
        _docker.DieContainer(Web);
        _docker.Start();
        await AdvanceUntil(() => watcher.Connected, TimeSpan.FromSeconds(1));

        Assert.Equal("db", watcher.Find(Db)?.Name);
        _time.Advance(DockerMetadataSettings.DefaultCleanupTimeout);
        Assert.Null(watcher.Find(Web)); // not listed on reconnect: it died while the watcher was away
    }

    [Fact]
    public async Task GarbageFromTheDaemonIsAnErrorAndTheWatcherRecovers()
    {
        _docker.AddRunning(Web, "web-1", "nginx:1.27");
        _docker.ListBodyOverride = "<html><body>502 Bad Gateway</body></html>";
        _docker.Start();
        var watcher = StartWatcher();

        await Eventually.True(() => Errors().Length == 1, Patience);
        Assert.Contains("the container list is not valid JSON", Errors()[0], StringComparison.Ordinal);
        Assert.False(watcher.Connected);
        Assert.Null(watcher.Find(Web));

        _docker.ListBodyOverride = """[{"Id":42}]""";
        await AdvanceUntil(() => Errors().Length == 2, TimeSpan.FromSeconds(1));
        Assert.Contains("Id is not a string", Errors()[1], StringComparison.Ordinal);

        _docker.ListBodyOverride = null;
        await AdvanceUntil(() => watcher.Connected, TimeSpan.FromSeconds(2));
        Assert.Equal("web-1", watcher.Find(Web)?.Name);
    }

    [Fact]
    public async Task AGarbledEventStreamIsAnErrorAndIsFollowedAgain()
    {
        _docker.AddRunning(Web, "web-1", "nginx:1.27");
        _docker.Start();
        var watcher = StartWatcher();
        await Eventually.True(() => watcher.Connected && _docker.Subscribers == 1, Patience);

        _docker.PublishRaw("{\"status\":\"start\",\"id\":");
        await Eventually.True(() => Errors().Length == 1, Patience);
        Assert.Contains("an event is not valid JSON", Errors()[0], StringComparison.Ordinal);
        Assert.Equal("web-1", watcher.Find(Web)?.Name); // what was known stays known

        // The daemon notices the dropped stream only at its next write: count the watcher's requests instead.
        await AdvanceUntil(() => watcher.Connected && _docker.Requests.Count(r => r.Contains("/events?", StringComparison.Ordinal)) == 2, TimeSpan.FromSeconds(1));
        _docker.StartContainer(Db, "db", "postgres:16");
        await Eventually.True(() => watcher.Find(Db) is not null, Patience);
    }

    [Fact]
    public async Task AListLargerThanTheCapIsRefused()
    {
        _docker.ListBodyOverride = "[" + string.Join(",", Enumerable.Repeat("""{"Id":"x","Names":["/a"],"Image":"i","Labels":{}}""", (DockerApiClient.ListReplyLimit / 40) + 1)) + "]";
        _docker.Start();
        StartWatcher();

        await Eventually.True(() => Errors().Length == 1, Patience);
        Assert.Contains("/containers/json", Errors()[0], StringComparison.Ordinal);
        Assert.Contains($"{DockerApiClient.ListReplyLimit}", Errors()[0], StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_running is not null)
        {
            await _running.WaitAsync(Patience);
        }

        if (_watcher is not null)
        {
            await _watcher.DisposeAsync();
        }

        await _docker.DisposeAsync();
        _dir.Dispose();
    }

    private DockerWatcher StartWatcher(bool dedot = true, TimeSpan? cleanup = null)
    {
        var settings = new DockerMetadataSettings
        {
            Endpoint = DockerEndpoint.Parse(_docker.Host),
            Dedot = dedot,
            CleanupTimeout = cleanup ?? DockerMetadataSettings.DefaultCleanupTimeout,
        };
        _watcher = new DockerWatcher(settings, new Logger(_log, "add_docker_metadata"), _time);
        _running = Task.Run(() => _watcher.RunAsync(_stop.Token));
        return _watcher;
    }

    /// <summary>Moves the fake clock by one backoff step (once the watcher waits on it) until the condition holds.</summary>
    private async Task AdvanceUntil(Func<bool> condition, TimeSpan step)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            _time.Advance(step);
            await Task.Delay(20);
        }
    }

    private int Attempts() => _log.Lines.Count(l => l.Contains("Docker API", StringComparison.Ordinal) && (l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Debug", StringComparison.Ordinal)));

    private string[] Warnings() => _log.Lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal)).ToArray();

    private string[] Errors() => _log.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal)).ToArray();
}
