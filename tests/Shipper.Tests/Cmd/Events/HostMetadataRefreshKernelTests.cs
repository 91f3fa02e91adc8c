using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Events;

/// <summary>
/// A new interface shows up in host.ip and host.mac after cache.ttl, and leaves after the next one; it is
/// created down, so down interfaces and link-local addresses being kept is checked at the same time.
/// </summary>
public class HostMetadataRefreshKernelTests
{
    private const string Interface = "shipt0";

    /// <summary>A dummy interface; kernels built without the dummy driver (this VM's) get an ifb one, which is as inert.</summary>
    private static void AddInterface()
    {
        if (!TryIp($"link add {Interface} type dummy", out var error) && !TryIp($"link add {Interface} type ifb", out error))
        {
            Assert.Fail($"cannot create a test interface: {error}");
        }
    }

    private static bool TryIp(string arguments, out string error)
    {
        var info = new ProcessStartInfo("ip", arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0;
    }

    [KernelFact]
    public void ANewInterfaceAppearsAfterTheTtlAndGoesAfterTheNext()
    {
        TryIp($"link del {Interface}", out _); // a leftover of an interrupted run
        var settings = HostMetadataSettingsTests.Load("processors:\n  - add_host_metadata:\n      cache.ttl: 1m\n").HostMetadata!;
        var agent = new AgentInfo { Name = "edge-1", Version = "1.2.3", Id = "agent-id", EphemeralId = "ephemeral" };
        var documents = new DocumentWriter(agent, HostMetadataRefresh.Read(settings, Logger.Null), Array.Empty<string>(), null, false, settings);
        var time = new FakeTimeProvider();
        using var refresh = new HostMetadataRefresh(documents, settings, time, Logger.Null);
        refresh.Start();
        try
        {
            AddInterface();
            Assert.True(TryIp($"addr add 198.51.100.7/24 dev {Interface}", out var error), error);
            Assert.True(TryIp($"addr add 2001:db8::7/64 dev {Interface}", out error), error);
            Assert.True(TryIp($"addr add fe80::1234/64 dev {Interface}", out error), error);
            string mac;
            using (var link = JsonDocument.Parse(NetworkAddressesTests.Ip($"-j link show dev {Interface}")))
            {
                mac = link.RootElement[0].GetProperty("address").GetString()!.ToUpperInvariant().Replace(':', '-');
            }

            Assert.DoesNotContain("198.51.100.7", Ips(documents)); // read before the interface existed
            time.Advance(TimeSpan.FromSeconds(59));
            Assert.DoesNotContain("198.51.100.7", Ips(documents));
            time.Advance(TimeSpan.FromSeconds(1));

            var host = HostEnvelopeTests.HostOf(documents);
            var ips = Ips(documents);
            var index = Array.IndexOf(ips, "198.51.100.7");
            Assert.True(index >= 0, string.Join(", ", ips));
            Assert.Equal(new[] { "198.51.100.7", "2001:db8::7", "fe80::1234" }, ips.Skip(index).Take(3));
            Assert.Contains(mac, host.GetProperty("mac").EnumerateArray().Select(e => e.GetString()));
            var (expectedIps, expectedMacs) = NetworkAddressesTests.FromIproute2();
            Assert.Equal(expectedIps, ips.Select(ip => System.Net.IPAddress.Parse(ip).ToString()));
            Assert.Equal(expectedMacs, host.GetProperty("mac").EnumerateArray().Select(e => e.GetString()!));
        }
        finally
        {
            TryIp($"link del {Interface}", out _);
        }

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.DoesNotContain("198.51.100.7", Ips(documents));
    }

    private static string[] Ips(DocumentWriter documents) =>
        HostEnvelopeTests.HostOf(documents).GetProperty("ip").EnumerateArray().Select(e => e.GetString()!).ToArray();
}
