namespace Shipper.Module.Config;

/// <summary>One node of the parsed configuration tree; every node remembers its dotted path and where it was written.</summary>
public abstract class ConfigNode
{
    protected ConfigNode(string path, SourceLocation location)
    {
        Path = path;
        Location = location;
    }

    public string Path { get; set; }

    public SourceLocation Location { get; set; }

    public abstract string KindName { get; }

    public ConfigException Error(string problem) => new(Path, Location, problem);

    public static string Join(string parent, string key) => parent.Length == 0 ? key : parent + "." + key;
}
