using System.Runtime.InteropServices;

namespace Shipper.Events;

/// <summary>The ECS <c>host.*</c> fields, read once at start from the kernel and /etc.</summary>
public sealed class HostInfo
{
    public required string Name { get; init; }

    public required string Hostname { get; init; }

    public required string Id { get; init; }

    public required string Architecture { get; init; }

    public required string OsType { get; init; }

    public required string OsFamily { get; init; }

    public required string OsName { get; init; }

    public required string OsVersion { get; init; }

    public required string OsPlatform { get; init; }

    public required string OsKernel { get; init; }

    public static HostInfo Read(string? nameOverride = null)
    {
        var hostname = ReadFirstLine("/proc/sys/kernel/hostname") ?? Environment.MachineName;
        var osRelease = ReadOsRelease("/etc/os-release");
        osRelease.TryGetValue("ID", out var id);
        osRelease.TryGetValue("ID_LIKE", out var idLike);
        osRelease.TryGetValue("NAME", out var name);
        osRelease.TryGetValue("VERSION", out var version);
        osRelease.TryGetValue("VERSION_ID", out var versionId);
        return new HostInfo
        {
            Name = string.IsNullOrEmpty(nameOverride) ? hostname : nameOverride,
            Hostname = hostname,
            Id = ReadFirstLine("/etc/machine-id") ?? ReadFirstLine("/var/lib/dbus/machine-id") ?? "",
            Architecture = RuntimeInformation.OSArchitecture switch
            {
                System.Runtime.InteropServices.Architecture.X64 => "x86_64",
                System.Runtime.InteropServices.Architecture.Arm64 => "aarch64",
                System.Runtime.InteropServices.Architecture.X86 => "i686",
                System.Runtime.InteropServices.Architecture.Arm => "armv7l",
                var other => other.ToString().ToLowerInvariant(),
            },
            OsType = "linux",
            OsFamily = Family(id, idLike),
            OsName = name ?? "Linux",
            OsVersion = version ?? versionId ?? "",
            OsPlatform = id ?? "linux",
            OsKernel = ReadFirstLine("/proc/sys/kernel/osrelease") ?? Environment.OSVersion.Version.ToString(),
        };
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

    private static string? ReadFirstLine(string path)
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

    private static Dictionary<string, string> ReadOsRelease(string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var eq = line.IndexOf('=');
                if (eq <= 0 || line.StartsWith('#'))
                {
                    continue;
                }

                var value = line[(eq + 1)..].Trim();
                if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
                {
                    value = value[1..^1];
                }

                result[line[..eq].Trim()] = value;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return result;
    }
}
