using System.Reflection;

namespace Shipper.Events;

/// <summary>Version and commit baked in at build time.</summary>
public static class BuildInfo
{
    public const string EcsVersion = "8.0.0";

    public static string Version { get; } = typeof(BuildInfo).Assembly.GetName().Version is { } v
        ? $"{v.Major}.{v.Minor}.{v.Build}"
        : "0.0.0";

    /// <summary>The git commit the binary was built from, or "unknown" outside a checkout.</summary>
    public static string Commit { get; } =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion is { } info
        && info.IndexOf('+') is var plus and > 0
            ? info[(plus + 1)..]
            : "unknown";
}
