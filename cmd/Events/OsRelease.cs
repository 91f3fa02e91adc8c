using System.Text.RegularExpressions;

namespace Shipper.Events;

/// <summary>
/// The distribution as /etc/lsb-release and /etc/os-release describe it, read as go-sysinfo reads them (both
/// files as one key list, os-release's value winning a shared key), and the codename by go-sysinfo's rule:
/// VERSION_CODENAME, else DISTRIB_CODENAME (lsb-release), else any other key holding CODENAME (e.g.
/// UBUNTU_CODENAME), else the parenthesised part of VERSION ("12 (bookworm)"). For the redhat family the
/// codename comes from the first line of /etc/&lt;distrib&gt;-release instead ("CentOS Linux release 7.9.2009 (Core)").
/// </summary>
public sealed partial class OsRelease
{
    public string? Id { get; private init; }

    public string? IdLike { get; private init; }

    public string? Name { get; private init; }

    public string? Version { get; private init; }

    public string? VersionId { get; private init; }

    /// <summary>Empty when no file names one.</summary>
    public string Codename { get; private init; } = "";

    /// <summary>BUILD_ID (rolling distributions such as Arch); empty when absent.</summary>
    public string Build { get; private init; } = "";

    public static OsRelease Read(string root)
    {
        var etc = Path.Combine(root, "etc");
        var keys = new List<KeyValuePair<string, string>>();
        ReadKeys(Path.Combine(etc, "lsb-release"), keys);
        ReadKeys(Path.Combine(etc, "os-release"), keys);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in keys)
        {
            values[key] = value;
        }

        var version = Get(values, "VERSION");
        var codename = Get(values, "VERSION_CODENAME") ?? Get(values, "DISTRIB_CODENAME");
        if (codename is null)
        {
            foreach (var (key, value) in keys)
            {
                if (key.Contains("CODENAME", StringComparison.Ordinal) && value.Length > 0)
                {
                    codename = value;
                    break;
                }
            }
        }

        if (codename is null && version is not null && VersionCodename().Match(version) is { Success: true } match && match.Groups["codename"].Success)
        {
            codename = match.Groups["codename"].Value;
        }

        var id = Get(values, "ID");
        var idLike = Get(values, "ID_LIKE");
        var all = (id ?? "") + " " + (idLike ?? "");
        if (all.Contains("rhel", StringComparison.Ordinal) || all.Contains("fedora", StringComparison.Ordinal) || all.Contains("centos", StringComparison.Ordinal))
        {
            codename = DistribReleaseCodename(etc) ?? codename;
        }

        return new OsRelease
        {
            Id = id,
            IdLike = idLike,
            Name = Get(values, "NAME") ?? Get(values, "PRETTY_NAME"),
            Version = version,
            VersionId = Get(values, "VERSION_ID"),
            Codename = codename ?? "",
            Build = Get(values, "BUILD_ID") ?? "",
        };
    }

    /// <summary>The codename on the first line of the first non-empty /etc/*-release file other than os- and lsb-release.</summary>
    private static string? DistribReleaseCodename(string etc)
    {
        string[] files;
        try
        {
            files = Directory.GetFiles(etc, "*-release");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        Array.Sort(files, StringComparer.Ordinal);
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            if (name is "os-release" or "lsb-release" || HostInfo.ReadFirstLine(file) is not { } line)
            {
                continue;
            }

            var match = DistribLine().Match(line);
            return match.Success && match.Groups["codename"].Success ? match.Groups["codename"].Value : "";
        }

        return null;
    }

    private static string? Get(Dictionary<string, string> values, string key) =>
        values.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

    private static void ReadKeys(string path, List<KeyValuePair<string, string>> keys)
    {
        try
        {
            foreach (var raw in File.ReadLines(path))
            {
                var line = raw.Trim();
                var eq = line.IndexOf('=');
                if (eq <= 0 || line.StartsWith('#'))
                {
                    continue;
                }

                var value = line[(eq + 1)..].Trim();
                if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
                {
                    value = value[1..^1].Trim();
                }

                keys.Add(new(line[..eq].Trim(), value));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A missing or unreadable file contributes no keys, as in go-sysinfo.
        }
    }

    // go-sysinfo's version pattern: a version number, optionally followed by " (codename)".
    private const string VersionPattern = @"(?<version>(?<major>[0-9]+)\.?(?<minor>[0-9]+)?\.?(?<patch>\w+)?)(?: \((?<codename>[-\w ]+)\))?";

    [GeneratedRegex(VersionPattern, RegexOptions.CultureInvariant)]
    private static partial Regex VersionCodename();

    [GeneratedRegex(@"(?<name>\w+).* " + VersionPattern, RegexOptions.CultureInvariant)]
    private static partial Regex DistribLine();
}
