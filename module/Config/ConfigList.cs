namespace Shipper.Module.Config;

public sealed class ConfigList : ConfigNode
{
    public ConfigList(string path, SourceLocation location)
        : base(path, location)
    {
    }

    public List<ConfigNode> Items { get; } = new();

    public override string KindName => "a list";
}
