using global::System.Threading.Channels;

namespace Shipper.Module.System.Process;

/// <summary>
/// A source of process events: the netlink proc connector (real time) or /proc polling. Started before the
/// /proc snapshot so nothing falls between the two.
/// </summary>
public interface IProcessEventSource : IDisposable
{
    /// <summary><c>netlink</c> or <c>procfs</c>; published as the <c>process.backend</c> metric.</summary>
    string Backend { get; }

    /// <summary>
    /// Opens the listener and starts producing; returns once events are being captured. When
    /// <paramref name="cancellationToken"/> fires the source stops reading and completes <see cref="Observations"/>
    /// after the last event it read, so the tracker can apply everything before it stops.
    /// </summary>
    void Start(CancellationToken cancellationToken);

    ChannelReader<ProcessObservation> Observations { get; }
}
