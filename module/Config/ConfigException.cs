namespace Shipper.Module.Config;

/// <summary>
/// A user error in configuration. The message always names the setting (its dotted path) and where it was
/// written, so it can be printed as it is, without a stack trace.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string path, SourceLocation location, string problem)
        : base(Format(path, location, problem))
    {
        Path = path;
        Location = location;
        Problem = problem;
    }

    public string Path { get; }

    public SourceLocation Location { get; }

    public string Problem { get; }

    private static string Format(string path, SourceLocation location, string problem)
    {
        var where = location.IsKnown ? $" (at {location})" : "";
        return path.Length == 0 ? $"config error{where}: {problem}" : $"config error in '{path}'{where}: {problem}";
    }
}
