using global::System.Text;
using Shipper.Module.Containers;

namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// Finds the container a process runs in from its <c>/proc/&lt;pid&gt;/cgroup</c> lines
/// (<c>hierarchy-id:controllers:path</c>). A path names a container when its last component is a 64-hex-digit id
/// after a '/' or a '-', optionally followed by <c>.scope</c> (the pattern libbeat's add_process_metadata uses by
/// default). The component's prefix says which runtime made it; that mapping is Shipper's own (libbeat sets no
/// <c>container.runtime</c> from cgroups):
/// <list type="bullet">
/// <item><c>/docker/&lt;id&gt;</c> (cgroupfs driver) and <c>docker-&lt;id&gt;.scope</c> (systemd driver): <c>docker</c></item>
/// <item><c>cri-containerd-&lt;id&gt;.scope</c>: <c>containerd</c></item>
/// <item><c>crio-&lt;id&gt;.scope</c>: <c>cri-o</c></item>
/// <item><c>libpod-&lt;id&gt;.scope</c>: <c>podman</c></item>
/// <item>a bare id under anything else (<c>/kubepods/&lt;qos&gt;/pod&lt;uid&gt;/&lt;id&gt;</c>, the kubelet's cgroupfs
/// layout) or another prefix: the id, runtime unknown (left out)</item>
/// </list>
/// <c>crio-conmon-&lt;id&gt;.scope</c> and <c>libpod-conmon-&lt;id&gt;.scope</c> hold conmon, the monitor the
/// runtime starts beside the container on the host: the id is the container's, but the process is not in the
/// container, so such a path names no container. The first line in file order that names a container wins
/// (libbeat's rule too): on a hybrid host the cgroup v1 controller lines come before the v2 <c>0::</c> line.
/// </summary>
public static class CgroupContainerParser
{
    private const int IdLength = 64;

    private static readonly string Docker = "docker";
    private static readonly string Containerd = "containerd";
    private static readonly string CriO = "cri-o";
    private static readonly string Podman = "podman";

    /// <summary>The container the whole file names, or null (no line names one).</summary>
    public static ContainerIdentity? Parse(ReadOnlySpan<byte> cgroupFile)
    {
        var rest = cgroupFile;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf((byte)'\n');
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[(end + 1)..];
            var first = line.IndexOf((byte)':');
            if (first < 0)
            {
                continue;
            }

            var second = line[(first + 1)..].IndexOf((byte)':');
            if (second < 0)
            {
                continue;
            }

            if (TryMatchPath(line[(first + 1 + second + 1)..], out var id, out var runtime))
            {
                return new ContainerIdentity(Encoding.ASCII.GetString(id), runtime);
            }
        }

        return null;
    }

    /// <summary>Whether one cgroup path names a container; <paramref name="id"/> is then its 64 hex digits.</summary>
    public static bool TryMatchPath(ReadOnlySpan<byte> path, out ReadOnlySpan<byte> id, out string? runtime)
    {
        id = default;
        runtime = null;
        var slash = path.LastIndexOf((byte)'/');
        if (slash < 0)
        {
            return false;
        }

        var component = path[(slash + 1)..];
        if (component.EndsWith(".scope"u8))
        {
            component = component[..^".scope"u8.Length];
        }

        if (component.Length < IdLength || !IsLowerHex(component[^IdLength..]))
        {
            return false;
        }

        var prefix = component[..^IdLength];
        if (!prefix.IsEmpty && prefix[^1] != (byte)'-')
        {
            return false; // the id must follow '/' or '-'
        }

        if (prefix.EndsWith("-conmon-"u8))
        {
            return false;
        }

        id = component[^IdLength..];
        runtime = prefix switch
        {
            _ when prefix.SequenceEqual("docker-"u8) => Docker,
            _ when prefix.SequenceEqual("cri-containerd-"u8) => Containerd,
            _ when prefix.SequenceEqual("crio-"u8) => CriO,
            _ when prefix.SequenceEqual("libpod-"u8) => Podman,
            _ when prefix.IsEmpty && ParentIs(path[..slash], "docker"u8) => Docker,
            _ => null,
        };
        return true;
    }

    private static bool ParentIs(ReadOnlySpan<byte> parent, ReadOnlySpan<byte> name)
    {
        var slash = parent.LastIndexOf((byte)'/');
        return parent[(slash + 1)..].SequenceEqual(name);
    }

    private static bool IsLowerHex(ReadOnlySpan<byte> text)
    {
        foreach (var c in text)
        {
            if (c is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f')))
            {
                return false;
            }
        }

        return true;
    }
}
