using System.Buffers.Binary;

namespace Shipper.Events;

/// <summary>
/// <c>host.ip</c> and <c>host.mac</c> as libbeat's add_host_metadata fills them: every interface except those
/// flagged loopback (down interfaces and link-local addresses are kept), read from the kernel over rtnetlink.
/// IPs in the kernel's dump order (IPv4 before IPv6 per interface, no prefix length, not de-duplicated); MACs
/// upper-case and dash-separated, sorted and de-duplicated.
/// </summary>
public sealed class NetworkAddresses
{
    private const ushort IFLA_ADDRESS = 1;
    private const ushort IFA_ADDRESS = 1;
    private const ushort IFA_LOCAL = 2;
    private const uint IFF_LOOPBACK = 0x8;
    private const byte AF_INET = 2;
    private const byte AF_INET6 = 10;

    // ARP hardware types whose "hardware address" is the tunnel's IP endpoint, not a MAC (linux/if_arp.h);
    // Go's net package leaves those out, so libbeat never reports them.
    private const ushort ARPHRD_TUNNEL = 768;
    private const ushort ARPHRD_TUNNEL6 = 769;
    private const ushort ARPHRD_SIT = 776;
    private const ushort ARPHRD_IPGRE = 778;
    private const ushort ARPHRD_IP6GRE = 823;

    public static readonly NetworkAddresses None = new(Array.Empty<string>(), Array.Empty<string>());

    public NetworkAddresses(IReadOnlyList<string> ip, IReadOnlyList<string> mac)
    {
        Ip = ip;
        Mac = mac;
    }

    public IReadOnlyList<string> Ip { get; }

    public IReadOnlyList<string> Mac { get; }

    /// <summary>Dumps links and addresses from the kernel. Throws IOException when rtnetlink fails.</summary>
    public static NetworkAddresses Read()
    {
        var order = new List<int>();
        var loopback = new HashSet<int>();
        var macs = new SortedSet<string>(StringComparer.Ordinal);
        RouteNetlink.Dump(RouteNetlink.RTM_GETLINK, RouteNetlink.RTM_NEWLINK, payload =>
        {
            // struct ifinfomsg: family, pad, type (ARPHRD_*), index, flags, change; then attributes.
            if (payload.Length < 16)
            {
                return;
            }

            var type = BinaryPrimitives.ReadUInt16LittleEndian(payload[2..]);
            var index = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
            order.Add(index);
            if ((flags & IFF_LOOPBACK) != 0)
            {
                loopback.Add(index);
                return;
            }

            string? mac = null;
            RouteNetlink.ForEachAttribute(payload[16..], (attribute, value) =>
            {
                if (attribute == IFLA_ADDRESS && !IsTunnelEndpoint(type, value.Length) && value.IndexOfAnyExcept((byte)0) >= 0)
                {
                    mac = FormatMac(value);
                }
            });
            if (mac is not null)
            {
                macs.Add(mac);
            }
        });

        var byInterface = new Dictionary<int, List<string>>();
        RouteNetlink.Dump(RouteNetlink.RTM_GETADDR, RouteNetlink.RTM_NEWADDR, payload =>
        {
            // struct ifaddrmsg: family, prefixlen, flags, scope, index; then attributes.
            if (payload.Length < 8)
            {
                return;
            }

            var family = payload[0];
            var index = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
            if (loopback.Contains(index) || (family != AF_INET && family != AF_INET6))
            {
                return;
            }

            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on a point-to-point link and
            // the own address otherwise (what Go's net package and `ip addr` report alike).
            string? local = null;
            string? address = null;
            RouteNetlink.ForEachAttribute(payload[8..], (attribute, value) =>
            {
                if ((attribute == IFA_LOCAL || attribute == IFA_ADDRESS) && value.Length == (family == AF_INET ? 4 : 16))
                {
                    var text = FormatIp(value);
                    if (attribute == IFA_LOCAL)
                    {
                        local = text;
                    }
                    else
                    {
                        address = text;
                    }
                }
            });
            if ((local ?? address) is { } ip)
            {
                if (!byInterface.TryGetValue(index, out var list))
                {
                    byInterface[index] = list = new List<string>();
                }

                list.Add(ip);
            }
        });

        var ips = new List<string>();
        foreach (var index in order)
        {
            if (byInterface.TryGetValue(index, out var list))
            {
                ips.AddRange(list);
            }
        }

        return new NetworkAddresses(ips, new List<string>(macs));
    }

    private static bool IsTunnelEndpoint(ushort type, int length) => length switch
    {
        4 => type is ARPHRD_TUNNEL or ARPHRD_SIT or ARPHRD_IPGRE,
        16 => type is ARPHRD_TUNNEL6 or ARPHRD_IP6GRE,
        _ => false,
    };

    /// <summary>ECS's MAC form: upper-case hex octets joined by '-' (any length: InfiniBand's are 20 octets).</summary>
    public static string FormatMac(ReadOnlySpan<byte> address)
    {
        return string.Create(address.Length * 3 - 1, address.ToArray(), static (chars, bytes) =>
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                if (i > 0)
                {
                    chars[i * 3 - 1] = '-';
                }

                chars[i * 3] = "0123456789ABCDEF"[bytes[i] >> 4];
                chars[i * 3 + 1] = "0123456789ABCDEF"[bytes[i] & 0xF];
            }
        });
    }

    /// <summary>
    /// An address as Go's net.IP.String writes it: IPv4 (and IPv4-mapped IPv6) dotted; IPv6 in RFC 5952 form
    /// (lower-case, no leading zeros, the longest run of two or more zero groups, the first on a tie, as ::).
    /// </summary>
    public static string FormatIp(ReadOnlySpan<byte> address)
    {
        if (address.Length == 16 && address[..10].IndexOfAnyExcept((byte)0) < 0 && address[10] == 0xFF && address[11] == 0xFF)
        {
            address = address[12..];
        }

        if (address.Length == 4)
        {
            return $"{address[0]}.{address[1]}.{address[2]}.{address[3]}";
        }

        Span<ushort> groups = stackalloc ushort[8];
        for (var i = 0; i < 8; i++)
        {
            groups[i] = BinaryPrimitives.ReadUInt16BigEndian(address[(i * 2)..]);
        }

        int bestStart = -1, bestLength = 0;
        for (var i = 0; i < 8;)
        {
            if (groups[i] != 0)
            {
                i++;
                continue;
            }

            var start = i;
            while (i < 8 && groups[i] == 0)
            {
                i++;
            }

            if (i - start >= 2 && i - start > bestLength)
            {
                bestStart = start;
                bestLength = i - start;
            }
        }

        var text = new System.Text.StringBuilder(39);
        for (var i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                text.Append("::");
                i += bestLength - 1;
                continue;
            }

            if (i > 0 && i != bestStart + bestLength)
            {
                text.Append(':');
            }

            text.Append(groups[i].ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }
}
