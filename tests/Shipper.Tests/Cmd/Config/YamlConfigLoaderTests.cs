using Shipper.Config;
using Shipper.Module.Config;

namespace Shipper.Tests.Cmd.Config;

public class YamlConfigLoaderTests
{
    [Fact]
    public void NodesKnowTheirPathAndPosition()
    {
        var root = new YamlConfigLoader().LoadText("a:\n  b.c: 1\n  list:\n    - x\n    - y: 2\n", "f.yml");
        var section = new ConfigSection(root, new ConfigReadTracker());
        var node = section.Find("a.b.c")!;
        Assert.Equal("a.b.c", node.Path);
        Assert.Equal(new SourceLocation("f.yml", 2, 8), node.Location); // the value's position
        var y = section.Find("a.list")! is ConfigList list ? ((ConfigMap)list.Items[1]).Get("y")! : null;
        Assert.Equal("a.list.1.y", y!.Path);
        Assert.Equal(5, y.Location.Line);
    }

    [Fact]
    public void QuotedScalarsStayStrings()
    {
        var root = new YamlConfigLoader().LoadText("a: 'true'\nb: true\n", "f.yml");
        Assert.True(((ConfigScalar)root.Get("a")!).IsQuoted);
        Assert.False(((ConfigScalar)root.Get("b")!).IsQuoted);
    }

    [Fact]
    public void AnchorsAndMergeKeysAreExpanded()
    {
        var root = new YamlConfigLoader().LoadText("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", "f.yml");
        var other = (ConfigMap)root.Get("other")!;
        Assert.Equal("1", ((ConfigScalar)other.Get("x")!).Value);
        Assert.Equal("3", ((ConfigScalar)other.Get("y")!).Value);
    }

    [Fact]
    public void EscapedDollarIsLiteral()
    {
        var root = new YamlConfigLoader().LoadText("a: \"$${HOME}\"\n", "f.yml");
        ConfigVariables.Expand(root, new PathSettings("", "", "", ""), _ => null);
        Assert.Equal("${HOME}", ((ConfigScalar)root.Get("a")!).Value);
    }

    [Fact]
    public void EmptyFileIsAnEmptyMap()
    {
        Assert.Equal(0, new YamlConfigLoader().LoadText("", "f.yml").Count);
        Assert.Equal(0, new YamlConfigLoader().LoadText("# only a comment\n", "f.yml").Count);
    }

    [Fact]
    public void ATopLevelListIsAnError()
    {
        var error = Assert.Throws<ConfigException>(() => new YamlConfigLoader().LoadText("- a\n- b\n", "f.yml"));
        Assert.Contains("must be a map", error.Message);
    }
}
