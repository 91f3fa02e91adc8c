using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Shipper.Tests.Support;

/// <summary>
/// A loopback TCP port that nobody listens on and that stays free while a test keeps it closed on purpose
/// (an Elasticsearch that is down, then comes up there). It lies below the kernel's ephemeral range: ports
/// handed out for port-0 listeners and for outgoing connections of parallel tests come from that range, so
/// none of them can take it meanwhile, as they could take a port first found free with port 0.
/// </summary>
public static class FreePort
{
    public static int BelowEphemeralRange()
    {
        var ephemeralLow = EphemeralLow();
        var low = Math.Min(10000, ephemeralLow / 2);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Random.Shared.Next(low, ephemeralLow);
            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // Taken by someone: try another.
            }
        }

        throw new InvalidOperationException($"no free port found between {low} and {ephemeralLow}");
    }

    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
        {
            return 32768; // Linux's default
        }
    }
}
