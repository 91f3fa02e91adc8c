using System.Runtime.InteropServices;

namespace Shipper.Events;

/// <summary>
/// The ECS <c>host.*</c> fields as libbeat's add_host_metadata reads them (go-sysinfo's rules), from the
/// kernel, /proc and /etc below a root directory (<c>/</c>; tests point it at crafted files). Immutable: a
/// re-read makes a new one.
/// </summary>
public sealed class HostInfo
{
    private string? _kernelHostname;

    /// <summary>host.name: the host name, lower-cased as ECS asks (libbeat does since 8.15).</summary>
    public required string Name { get; init; }

    /// <summary>host.hostname, lower-cased like <see cref="Name"/>.</summary>
    public required string Hostname { get; init; }

    /// <summary>The host name as the kernel reports it: the default of the top-level <c>name</c> (agent.name).</summary>
    public string KernelHostname
    {
        get => _kernelHostname ?? Hostname;
        init => _kernelHostname = value;
    }

    public required string Id { get; init; }

    public required string Architecture { get; init; }

    public required string OsType { get; init; }

    public required string OsFamily { get; init; }

    public required string OsName { get; init; }

    public required string OsVersion { get; init; }

    public required string OsPlatform { get; init; }

    public required string OsKernel { get; init; }

    /// <summary>host.os.codename; empty when no release file names one.</summary>
    public string OsCodename { get; init; } = "";

    /// <summary>host.os.build (os-release BUILD_ID); empty when absent.</summary>
    public string OsBuild { get; init; } = "";

    /// <summary>host.containerized; null when /proc/1/cgroup exists but cannot be read.</summary>
    public bool? Containerized { get; init; }

    /// <summary>host.ip and host.mac; <see cref="NetworkAddresses.None"/> when not read (netinfo.enabled: false).</summary>
    public NetworkAddresses Network { get; init; } = NetworkAddresses.None;

    /// <summary>Reads the host below <paramref name="root"/>; with <paramref name="netinfo"/> also its addresses.</summary>
    /// <exception cref="IOException">rtnetlink failed while reading the addresses.</exception>
    public static HostInfo Read(string root = "/", bool netinfo = false)
    {
        var kernelHostname = ReadFirstLine(Path.Combine(root, "proc/sys/kernel/hostname")) ?? Environment.MachineName;
        var hostname = kernelHostname.ToLowerInvariant();
        var release = OsRelease.Read(root);
        return new HostInfo
        {
            Name = hostname,
            Hostname = hostname,
            KernelHostname = kernelHostname,
            Id = ReadFirstLine(Path.Combine(root, "etc/machine-id")) ?? ReadFirstLine(Path.Combine(root, "var/lib/dbus/machine-id")) ?? "",
            Architecture = RuntimeInformation.OSArchitecture switch
            {
                System.Runtime.InteropServices.Architecture.X64 => "x86_64",
                System.Runtime.InteropServices.Architecture.Arm64 => "aarch64",
                System.Runtime.InteropServices.Architecture.X86 => "i686",
                System.Runtime.InteropServices.Architecture.Arm => "armv7l",
                var other => other.ToString().ToLowerInvariant(),
            },
            OsType = "linux",
            OsFamily = Family(release.Id, release.IdLike),
            OsName = release.Name ?? "Linux",
            OsVersion = release.Version ?? release.VersionId ?? "",
            OsPlatform = release.Id ?? "linux",
            OsKernel = ReadFirstLine(Path.Combine(root, "proc/sys/kernel/osrelease")) ?? Environment.OSVersion.Version.ToString(),
            OsCodename = release.Codename,
            OsBuild = release.Build,
            Containerized = IsContainerized(Path.Combine(root, "proc/1/cgroup")),
            Network = netinfo ? NetworkAddresses.Read() : NetworkAddresses.None,
        };
    }

    /// <summary>
    /// go-sysinfo's rule: true when a line of PID 1's cgroup file names docker, lxc or kubepods, or a systemd
    /// .slice; a missing file means false. Weak on cgroup v2, where PID 1 in a container usually sees <c>0::/</c>
    /// (its namespace root) and on the host <c>0::/init.scope</c>: both read as false.
    /// </summary>
    public static bool? IsContainerized(string cgroupFile)
    {
        try
        {
            foreach (var line in File.ReadLines(cgroupFile))
            {
                if (line.Contains("docker", StringComparison.Ordinal) || line.Contains(".slice", StringComparison.Ordinal)
                    || line.Contains("lxc", StringComparison.Ordinal) || line.Contains("kubepods", StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Family(string? id, string? idLike)
    {
        var all = (id ?? "") + " " + (idLike ?? "");
        if (all.Contains("debian", StringComparison.Ordinal) || all.Contains("ubuntu", StringComparison.Ordinal))
        {
            return "debian";
        }

        if (all.Contains("rhel", StringComparison.Ordinal) || all.Contains("fedora", StringComparison.Ordinal) || all.Contains("centos", StringComparison.Ordinal))
        {
            return "redhat";
        }

        if (all.Contains("suse", StringComparison.Ordinal))
        {
            return "suse";
        }

        return id ?? "linux";
    }

    internal static string? ReadFirstLine(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            var line = reader.ReadLine()?.Trim();
            return string.IsNullOrEmpty(line) ? null : line;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
