using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Module.Registry;

/// <summary>Everything the host hands a dataset when it creates one.</summary>
public sealed class DatasetContext
{
    /// <summary>The module entry this dataset was enabled in (<c>period</c>, <c>state.period</c>, <c>process.*</c>, …).</summary>
    public required ConfigSection Config { get; init; }

    public required MetricsRegistry Metrics { get; init; }

    public required Logger Log { get; init; }

    public required TimeProvider Time { get; init; }

    /// <summary>The host id (<c>/etc/machine-id</c>), which process entity ids are derived from.</summary>
    public required string HostId { get; init; }

    /// <summary><c>path.data</c>, for datasets that keep state across restarts.</summary>
    public required string DataPath { get; init; }

    /// <summary>
    /// <c>shipper.shutdown_timeout</c>: once the dataset is told to stop, how long it may take to turn what it has
    /// read into published events. It counts what it must give up on when the time is over.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The shipper's own processes (this one and the watcher that started it), by pid.</summary>
    public IReadOnlyList<int> ShipperPids { get; init; } = Array.Empty<int>();

    /// <summary>Takes secrets out of the shipper's own command lines (<c>-E output.elasticsearch.password=…</c>) in documents.</summary>
    public SecretRedactor Secrets { get; init; } = SecretRedactor.None;

    /// <summary>
    /// What the worker's watchdog heartbeat reports on: loops that must keep turning, and the process source's
    /// proc connector positions (see <see cref="WorkerProgress"/>). A fresh, unwatched one unless the host passes its own.
    /// </summary>
    public WorkerProgress Progress { get; init; } = new();

    /// <summary>Container names, images and labels for documents (the host's add_docker_metadata); null when not configured.</summary>
    public Containers.IContainerMetadataSource? ContainerMetadata { get; init; }

    /// <summary>
    /// Things a dataset accepts but cannot fully honour here (an algorithm this platform lacks, say); the host
    /// prints them in <c>test config</c> and logs them at start.
    /// </summary>
    public List<string> Warnings { get; } = new();
}
