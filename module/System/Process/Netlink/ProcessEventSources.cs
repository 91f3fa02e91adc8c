using Shipper.Module.Logging;
using Shipper.Module.Monitoring;

namespace Shipper.Module.System.Process.Netlink;

/// <summary>Helps <c>process.backend: auto</c> choose: netlink when the proc connector works here, else procfs.</summary>
public static class ProcessEventSources
{
    /// <summary>
    /// Really opens, binds and subscribes (waiting for the kernel's acknowledgement), then unsubscribes and
    /// closes: anything less (checking for root, say) misses containers, missing CONFIG_PROC_EVENTS and
    /// seccomp. Takes a few milliseconds on a kernel that answers, up to ~2.5 s on one that never does.
    /// </summary>
    public static bool CanUseNetlink(out string reason)
    {
        var options = new NetlinkSourceOptions { Realtime = false, ChannelCapacity = 1024, ReceiveBuffer = 64 * 1024 };
        try
        {
            using var probe = new NetlinkProcEventSource(options, new MetricsRegistry(), Logger.Null);
            probe.Start(CancellationToken.None);
            reason = $"the netlink proc connector answered ({probe.Subscription.ToString().ToLowerInvariant()} subscription)";
            return true;
        }
        catch (NetlinkException ex)
        {
            reason = ex.Message;
            return false;
        }
    }
}
