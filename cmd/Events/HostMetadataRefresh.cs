using Shipper.Module.Logging;

namespace Shipper.Events;

/// <summary>
/// add_host_metadata's <c>cache.ttl</c>: re-reads the host (names, release files, PID 1's cgroup, and with
/// <c>netinfo.enabled</c> the interfaces over rtnetlink) every TTL on a timer of the injected TimeProvider and
/// gives it to the <see cref="DocumentWriter"/>, which swaps the pre-encoded host object; documents keep
/// their per-document cost. libbeat re-reads on the first event after the TTL, and on every event when the
/// TTL is ≤ 0; here a TTL ≤ 0 re-reads once a second (<see cref="HostMetadataSettings.MinimumRefresh"/>),
/// which shows a change as soon while a storm of events costs no more than an idle host.
/// The timer callback is the only caller of <see cref="Refresh"/> besides tests; runs never overlap.
/// </summary>
public sealed class HostMetadataRefresh : IDisposable
{
    private readonly DocumentWriter _documents;
    private readonly HostMetadataSettings _settings;
    private readonly TimeProvider _time;
    private readonly Logger _log;
    private readonly string _root;
    private readonly object _gate = new();
    private ITimer? _timer;
    private bool _failing;

    public HostMetadataRefresh(DocumentWriter documents, HostMetadataSettings settings, TimeProvider time, Logger log, string root = "/")
    {
        _documents = documents;
        _settings = settings;
        _time = time;
        _log = log;
        _root = root;
    }

    /// <summary>Reads the host once, as the start does; a failed interface read leaves host.ip and host.mac out and says why.</summary>
    public static HostInfo Read(HostMetadataSettings? settings, Logger log, string root = "/")
    {
        try
        {
            return HostInfo.Read(root, netinfo: settings?.NetInfo ?? false);
        }
        catch (IOException e)
        {
            log.Warn($"add_host_metadata: cannot read the network interfaces, documents carry no host.ip/host.mac until they can be read: {e.Message}");
            return HostInfo.Read(root, netinfo: false);
        }
    }

    public void Start()
    {
        var interval = _settings.RefreshInterval;
        _timer = _time.CreateTimer(_ => Refresh(), null, interval, interval);
    }

    /// <summary>Re-reads the host and hands it to the writer; a failure keeps the previous data and is logged once until it clears.</summary>
    public void Refresh()
    {
        if (!Monitor.TryEnter(_gate))
        {
            return; // a slow read is still running: this tick is covered by it
        }

        try
        {
            var host = HostInfo.Read(_root, netinfo: _settings.NetInfo);
            if (_documents.SetHost(host))
            {
                _log.Debug("add_host_metadata: the host fields changed; later documents carry the new ones");
            }

            if (_failing)
            {
                _log.Info("add_host_metadata: the network interfaces can be read again");
                _failing = false;
            }
        }
        catch (IOException e)
        {
            if (!_failing)
            {
                _log.Warn($"add_host_metadata: cannot re-read the network interfaces, documents keep the previous host fields: {e.Message}");
                _failing = true;
            }
        }
        finally
        {
            Monitor.Exit(_gate);
        }
    }

    public void Dispose() => _timer?.Dispose();
}
