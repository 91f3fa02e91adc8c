using global::System.Threading.Channels;

namespace Shipper.Tests.Module.System.Process.Netlink;

/// <summary>Collects observations from a source until a condition holds or a deadline passes.</summary>
public static class NetlinkTestSupport
{
    public static List<global::Shipper.Module.System.Process.ProcessObservation> CollectUntil(
        ChannelReader<global::Shipper.Module.System.Process.ProcessObservation> reader,
        Func<List<global::Shipper.Module.System.Process.ProcessObservation>, bool> done,
        TimeSpan? timeout = null)
    {
        var seen = new List<global::Shipper.Module.System.Process.ProcessObservation>();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            while (!done(seen))
            {
                if (!reader.WaitToReadAsync(cts.Token).AsTask().GetAwaiter().GetResult())
                {
                    break;
                }

                while (reader.TryRead(out var item))
                {
                    seen.Add(item);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return seen;
    }
}
