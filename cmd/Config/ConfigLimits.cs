namespace Shipper.Config;

/// <summary>
/// Bounds on what a config (or fields.yml) may hold. A few hundred bytes of YAML aliases can expand to
/// billions of values, and nesting thousands of levels deep overflows the stack of any recursive reader, so
/// every reader checks these while it builds the tree, before the cost is paid. Each is far beyond what a
/// real config needs; each error names the limit it hit.
/// </summary>
public static class ConfigLimits
{
    /// <summary>Bytes read from a config file; a real one is a few kilobytes.</summary>
    public const int MaxFileBytes = 8 * 1024 * 1024;

    /// <summary>
    /// Levels of nesting below the top level (a dotted key counts one level per part). Custom <c>fields</c>
    /// are copied into every document, and JSON readers stop at 64 levels, so this stays well below that.
    /// </summary>
    public const int MaxDepth = 32;

    /// <summary>Values (maps, lists and scalars) in one config, counting those that aliases expand to.</summary>
    public const int MaxValues = 1_000_000;

    /// <summary>Values that YAML aliases (<c>*name</c>) may expand to in one file, all aliases together.</summary>
    public const int MaxAliasValues = 100_000;

    /// <summary>Nested <c>${...}</c> references inside one another's defaults, as in <c>${A:${B:${C}}}</c>.</summary>
    public const int MaxReferenceNesting = 16;
}
