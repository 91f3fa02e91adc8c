namespace Shipper.Module.Registry;

/// <summary>
/// A push-style dataset: it runs until cancelled and reports events as they happen. Constructing one parses
/// and validates its configuration (throwing <see cref="Shipper.Module.Config.ConfigException"/>) without
/// touching the system, so <c>shipper test config</c> can build datasets without running them.
/// </summary>
public interface IDataset
{
    /// <summary><c>module/dataset</c>, e.g. <c>system/process</c>.</summary>
    string Name { get; }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; throws only for unrecoverable failures.</summary>
    Task RunAsync(IEventReporter reporter, CancellationToken cancellationToken);

    /// <summary>Lines for a diagnostic snapshot (SIGUSR1): table sizes, queue depths and the like.</summary>
    IEnumerable<string> Diagnostics() => Array.Empty<string>();
}
