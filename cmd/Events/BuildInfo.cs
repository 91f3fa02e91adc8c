using System.Reflection;

namespace Shipper.Events;

/// <summary>Version and commit baked in at build time.</summary>
public static class BuildInfo
{
    /// <summary>
    /// The ECS release the documents follow, written to <c>ecs.version</c>: the lowest that defines every ECS
    /// field the shipper emits (<c>process.thread.capabilities.*</c> came in 8.10; <c>hash.sha384</c> in 8.1;
    /// <c>interactive</c>, <c>tty</c>, <c>group_leader</c> and <c>session_leader</c> in 8.2). ECS 8.10 to 8.17
    /// define those fields identically, and fields.yml maps them as 8.17 does.
    /// </summary>
    public const string EcsVersion = "8.10.0";

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
