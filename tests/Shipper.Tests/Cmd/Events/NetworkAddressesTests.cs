using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Shipper.Events;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Events;

/// <summary>host.ip and host.mac from rtnetlink against what iproute2 reports, and their text forms.</summary>
public class NetworkAddressesTests
{
    /// <summary>Runs iproute2 and returns its stdout; fails the test on a non-zero exit.</summary>
    internal static string Ip(string arguments)
    {
        var info = new ProcessStartInfo("ip", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"ip {arguments} exited {process.ExitCode}: {stderr}");
        return stdout;
    }

    /// <summary>
    /// What `ip -j addr` and `ip -j link` say host.ip and host.mac should be: every address ("local") of every
    /// interface without the LOOPBACK flag in the order listed; every non-zero MAC-shaped link address,
    /// upper-case with dashes, sorted and de-duplicated.
    /// </summary>
    internal static (List<string> Ip, List<string> Mac) FromIproute2()
    {
        var ips = new List<string>();
        using (var addr = JsonDocument.Parse(Ip("-j addr")))
        {
            foreach (var link in addr.RootElement.EnumerateArray())
            {
                if (link.GetProperty("flags").EnumerateArray().Any(f => f.GetString() == "LOOPBACK"))
                {
                    continue;
                }

                foreach (var info in link.GetProperty("addr_info").EnumerateArray())
                {
                    // iproute2 writes IPv6 in RFC 5952 form too; IPAddress round-trips both forms to compare.
                    ips.Add(IPAddress.Parse(info.GetProperty("local").GetString()!).ToString());
                }
            }
        }

        var macs = new SortedSet<string>(StringComparer.Ordinal);
        using (var links = JsonDocument.Parse(Ip("-j link")))
        {
            foreach (var link in links.RootElement.EnumerateArray())
            {
                if (link.GetProperty("flags").EnumerateArray().Any(f => f.GetString() == "LOOPBACK")
                    || !link.TryGetProperty("address", out var address)
                    || address.GetString() is not { } text
                    || !text.Contains(':') || text.Replace(":", "").Trim('0').Length == 0
                    || link.GetProperty("link_type").GetString() is "ipip" or "sit" or "gre" or "tunnel6" or "gre6")
                {
                    continue;
                }

                macs.Add(text.ToUpperInvariant().Replace(':', '-'));
            }
        }

        return (ips, macs.ToList());
    }

    [Fact]
    public void AddressesEqualWhatIpReportsWithoutLoopback()
    {
        var (expectedIps, expectedMacs) = FromIproute2();
        var read = NetworkAddresses.Read();
        Assert.Equal(expectedIps, read.Ip.Select(ip => IPAddress.Parse(ip).ToString()));
        Assert.Equal(expectedMacs, read.Mac);
        Assert.DoesNotContain("127.0.0.1", read.Ip);
        Assert.DoesNotContain("::1", read.Ip);
    }

    [Fact]
    public void AddressTextIsIproute2s()
    {
        // The text itself, not only the address: ip writes IPv6 as RFC 5952 does, and so must we.
        var (expectedIps, _) = FromIproute2();
        var raw = new List<string>();
        using var addr = JsonDocument.Parse(Ip("-j addr"));
        foreach (var link in addr.RootElement.EnumerateArray())
        {
            if (!link.GetProperty("flags").EnumerateArray().Any(f => f.GetString() == "LOOPBACK"))
            {
                raw.AddRange(link.GetProperty("addr_info").EnumerateArray().Select(i => i.GetProperty("local").GetString()!));
            }
        }

        Assert.Equal(expectedIps.Count, raw.Count);
        Assert.Equal(raw, NetworkAddresses.Read().Ip);
    }

    [Theory]
    [InlineData("192.0.2.2", "192.0.2.2")]
    [InlineData("fe80:0:0:0:fc:ff:fe00:1", "fe80::fc:ff:fe00:1")]
    [InlineData("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1")] // one zero group stays
    [InlineData("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")] // the first of two equal runs
    [InlineData("1:0:0:2:0:0:0:3", "1:0:0:2::3")] // the longest run
    [InlineData("0:0:0:0:0:0:0:0", "::")]
    [InlineData("0:0:0:0:0:0:0:1", "::1")]
    [InlineData("fd00:0:0:0:0:0:0:0", "fd00::")]
    [InlineData("0:0:0:0:0:ffff:c000:202", "192.0.2.2")] // IPv4-mapped: dotted, as Go writes it
    [InlineData("0:0:0:0:0:0:c000:202", "::c000:202")] // IPv4-compatible (deprecated): hex, as Go writes it
    [InlineData("2001:DB8:ABCD:12:0:0:0:0", "2001:db8:abcd:12::")]
    public void IpsAreWrittenAsGoWritesThem(string address, string expected)
    {
        Assert.Equal(expected, NetworkAddresses.FormatIp(IPAddress.Parse(address).GetAddressBytes()));
    }

    [Fact]
    public void MacsAreUpperCaseAndDashSeparatedAtAnyLength()
    {
        Assert.Equal("02-FC-00-0A-BB-01", NetworkAddresses.FormatMac(new byte[] { 0x02, 0xfc, 0x00, 0x0a, 0xbb, 0x01 }));
        var infiniband = Enumerable.Range(0, 20).Select(i => (byte)(i * 13)).ToArray();
        Assert.Equal(59, NetworkAddresses.FormatMac(infiniband).Length);
        Assert.StartsWith("00-0D-1A-27", NetworkAddresses.FormatMac(infiniband));
    }
}
