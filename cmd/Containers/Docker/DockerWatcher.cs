using System.Collections.Concurrent;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading.Channels;
using Shipper.Module.Containers;
using Shipper.Module.Logging;

namespace Shipper.Containers.Docker;

/// <summary>
/// <c>add_docker_metadata</c>: keeps the names, images and labels of the Docker daemon's containers in memory so
/// the document path can add them (<see cref="Find"/>) without ever waiting on the daemon. In the background it
/// negotiates the API version, lists the running containers, then follows the container event stream: a
/// <c>start</c> (or <c>update</c>, <c>rename</c>) lists that container again, a <c>die</c> or <c>destroy</c> keeps its
/// metadata <c>cleanup_timeout</c> longer (its last processes are still being reported) and then drops it. An id a
/// document asks about that the watcher does not know (a container started in the moment before its event
/// arrived) is inspected once in the background, at most <see cref="MaxPendingLookups"/> at a time; that document
/// goes out without the metadata, later ones get it. When the daemon cannot be reached the watcher says so once
/// (WARN), documents go out without the metadata, and it retries with a doubling backoff up to
/// <see cref="MaxBackoff"/>; a reply that is not what the daemon sends is logged as an error and retried the same way.
/// Threading: <see cref="Find"/> may be called from any thread at any time; one background loop writes.
/// </summary>
public sealed class DockerWatcher : IContainerMetadataSource, IAsyncDisposable
{
    public static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Ids queued for an inspect; more unknown ids than this at once wait for a later document.</summary>
    public const int MaxPendingLookups = 64;

    /// <summary>Ids remembered as asked about (found or not), so an id that is not Docker's is asked about once.</summary>
    public const int MaxRememberedLookups = 4096;

    private readonly DockerMetadataSettings _settings;
    private readonly Logger _log;
    private readonly TimeProvider _time;
    private readonly DockerApiClient _api;
    private readonly ConcurrentDictionary<string, Entry> _containers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _asked = new(StringComparer.Ordinal);
    private readonly Channel<string> _lookups = Channel.CreateBounded<string>(new BoundedChannelOptions(MaxPendingLookups)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    private volatile bool _connected;
    private bool _unreachableSaid;

    public DockerWatcher(DockerMetadataSettings settings, Logger log, TimeProvider time)
    {
        _settings = settings;
        _log = log;
        _time = time;
        _api = new DockerApiClient(settings.Endpoint, RequestTimeout, time);
    }

    /// <summary>Whether the watcher is following the daemon's events now.</summary>
    public bool Connected => _connected;

    /// <summary>Containers known (running, or died within <c>cleanup_timeout</c> and not yet dropped).</summary>
    public int Count => _containers.Count;

    /// <summary>Known containers that died and wait out <c>cleanup_timeout</c>.</summary>
    public int DeadCount
    {
        get
        {
            var dead = 0;
            foreach (var (_, entry) in _containers)
            {
                dead += entry.DiedAt is null ? 0 : 1;
            }

            return dead;
        }
    }

    public ContainerMetadata? Find(string containerId)
    {
        if (_containers.TryGetValue(containerId, out var entry))
        {
            return entry.DiedAt is { } died && _time.GetUtcNow() - died >= _settings.CleanupTimeout ? null : entry.Metadata;
        }

        RequestLookup(containerId);
        return null;
    }

    /// <summary>Runs until <paramref name="stop"/>: the connection loop, the lookups and the cleanup.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var period = TimeSpan.FromTicks(Math.Clamp(_settings.CleanupTimeout.Ticks / 2, TimeSpan.TicksPerSecond, 30 * TimeSpan.TicksPerSecond));
        using var cleanup = _time.CreateTimer(static state => ((DockerWatcher)state!).Cleanup(), this, period, period);
        await Task.WhenAll(FollowAsync(stop), LookUpAsync(stop)).ConfigureAwait(false);
    }

    private async Task FollowAsync(CancellationToken stop)
    {
        var backoff = InitialBackoff;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _api.NegotiateAsync(stop).ConfigureAwait(false);
                var since = _time.GetUtcNow().ToUnixTimeSeconds();
                var running = await _api.ListAsync(null, stop).ConfigureAwait(false);
                Reconcile(running);
                _connected = true;
                backoff = InitialBackoff;
                _log.Info($"add_docker_metadata: following the Docker API at {_settings.Endpoint} (API {_api.ApiVersion!.ToString(2)}): {running.Count} running containers");
                _unreachableSaid = false;
                await _api.FollowEventsAsync(since, e => OnEventAsync(e, stop), stop).ConfigureAwait(false);
                _connected = false;
                _log.Warn($"add_docker_metadata: the Docker API at {_settings.Endpoint} ended its event stream; reconnecting");
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (IsUnreachable(e))
            {
                _connected = false;
                if (!_unreachableSaid)
                {
                    _unreachableSaid = true;
                    _log.Warn($"add_docker_metadata: cannot reach the Docker API at {_settings.Endpoint}: {Describe(e)}; documents go out without container.name, container.image.name and container.labels until it answers (retrying in the background)");
                }
                else
                {
                    _log.Debug($"add_docker_metadata: the Docker API at {_settings.Endpoint} is still unreachable: {Describe(e)}");
                }
            }
            catch (DockerApiException e)
            {
                _connected = false;
                _log.Error($"add_docker_metadata: the Docker API at {_settings.Endpoint} answered what a Docker daemon does not: {e.Message}; retrying in {backoff.TotalSeconds:0.#}s");
            }

            try
            {
                await Task.Delay(backoff, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            backoff = backoff * 2 < MaxBackoff ? backoff * 2 : MaxBackoff;
        }

        _connected = false;
    }

    private async ValueTask OnEventAsync(DockerEvent e, CancellationToken stop)
    {
        if (e.Type != "container" || e.Id.Length == 0)
        {
            return;
        }

        switch (e.Action)
        {
            case "start" or "update" or "rename" or "unpause":
                foreach (var container in await _api.ListAsync(e.Id, stop).ConfigureAwait(false))
                {
                    Put(container);
                }

                break;
            case "die" or "destroy":
                MarkDied(e.Id);
                break;
        }
    }

    private async Task LookUpAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var id in _lookups.Reader.ReadAllAsync(stop).ConfigureAwait(false))
            {
                if (_containers.ContainsKey(id))
                {
                    continue;
                }

                if (!_connected)
                {
                    _asked.TryRemove(id, out _); // ask again once the daemon answers
                    continue;
                }

                try
                {
                    if (await _api.InspectAsync(id, stop).ConfigureAwait(false) is { } container)
                    {
                        Put(container);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is DockerApiException || IsUnreachable(e))
                {
                    _asked.TryRemove(id, out _);
                    _log.Debug($"add_docker_metadata: cannot inspect container {id}: {Describe(e)}");
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private void RequestLookup(string id)
    {
        if (!_connected || _asked.Count >= MaxRememberedLookups || !_asked.TryAdd(id, true))
        {
            return;
        }

        if (!_lookups.Writer.TryWrite(id))
        {
            _asked.TryRemove(id, out _); // the queue is full: a later document asks again
        }
    }

    /// <summary>After a (re)connect: what is running is known alive; what was known and is not running died while away.</summary>
    private void Reconcile(List<DockerContainer> running)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var container in running)
        {
            listed.Add(container.Id);
            Put(container);
        }

        foreach (var (id, entry) in _containers)
        {
            if (!listed.Contains(id) && entry.DiedAt is null)
            {
                MarkDied(id);
            }
        }
    }

    private void Put(DockerContainer container)
    {
        var metadata = new ContainerMetadata(container.Name, container.Image, ContainerLabelsEncoder.Encode(container.Labels, _settings.Dedot));
        _containers[container.Id] = new Entry(metadata, null);
        _asked.TryRemove(container.Id, out _);
    }

    private void MarkDied(string id)
    {
        if (_containers.TryGetValue(id, out var entry) && entry.DiedAt is null)
        {
            _containers.TryUpdate(id, entry with { DiedAt = _time.GetUtcNow() }, entry);
        }
    }

    /// <summary>Drops containers dead for <c>cleanup_timeout</c>; forgets the ids asked about when there are too many.</summary>
    private void Cleanup()
    {
        var now = _time.GetUtcNow();
        foreach (var (id, entry) in _containers)
        {
            if (entry.DiedAt is { } died && now - died >= _settings.CleanupTimeout)
            {
                _containers.TryRemove(new KeyValuePair<string, Entry>(id, entry));
            }
        }

        if (_asked.Count >= MaxRememberedLookups)
        {
            _asked.Clear();
        }
    }

    private static bool IsUnreachable(Exception e) =>
        e is HttpRequestException or SocketException or IOException or TimeoutException or OperationCanceledException;

    private string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                // .NET reports a unix socket path that does not exist (ENOENT) as "Cannot assign requested address".
                return socket.SocketErrorCode == SocketError.AddressNotAvailable && _settings.Endpoint.SocketPath is { } path
                    ? $"no socket at {path} (is the Docker daemon running?)"
                    : socket.Message;
            }
        }

        return e is OperationCanceledException ? $"no answer within {RequestTimeout.TotalSeconds:0}s" : e.Message;
    }

    public ValueTask DisposeAsync()
    {
        _api.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed record Entry(ContainerMetadata Metadata, DateTimeOffset? DiedAt);
}
