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

    private static ConfigException LoadError(string yaml) =>
        Assert.Throws<ConfigException>(() => new YamlConfigLoader().LoadText(yaml, "f.yml"));

    [Fact]
    public void ARepeatedKeyIsAnErrorNamingBothPositions()
    {
        var error = LoadError("a: 1\nb:\n  c: 2\n  c: 3\n");
        Assert.Contains("duplicate key 'c'", error.Message);
        Assert.Contains("f.yml:3:3", error.Message);
        Assert.Contains("f.yml:4:3", error.Message);

        // A merge key fills in what the map does not write itself, wherever it stands: that is no duplicate.
        var root = new YamlConfigLoader().LoadText("base: &b {x: 1, y: 2}\nother:\n  y: 3\n  <<: *b\n", "f.yml");
        var other = (ConfigMap)root.Get("other")!;
        Assert.Equal("1", ((ConfigScalar)other.Get("x")!).Value);
        Assert.Equal("3", ((ConfigScalar)other.Get("y")!).Value);
    }

    [Fact]
    public void ARepeatedMapKeyIsAnErrorToo()
    {
        var error = LoadError("a: {x: 1}\na: {y: 2}\n");
        Assert.Contains("duplicate key 'a'", error.Message);
    }

    [Fact]
    public void TheSameLeafWrittenDottedAndNestedIsAnErrorNamingBothPositions()
    {
        var error = LoadError("a.b: 1\na:\n  b: 2\n");
        Assert.Contains("'a.b' is set twice: at f.yml:1:1 and again at f.yml:3:3", error.Message);

        error = LoadError("a:\n  b: 2\na.b: 1\n");
        Assert.Contains("'a.b' is set twice: at f.yml:2:3 and again at f.yml:3:1", error.Message);

        // Different leaves of one map still merge, whichever way each is written.
        var root = new YamlConfigLoader().LoadText("a.b: 1\na:\n  c: 2\na.d.e: 3\n", "f.yml");
        Assert.Equal(new[] { "b", "c", "d" }, ((ConfigMap)root.Get("a")!).Entries.Select(e => e.Key));
    }

    [Fact]
    public void AScalarAndAMapUnderOneKeyIsAnError()
    {
        var error = LoadError("a: 1\na.b: 2\n");
        Assert.Contains("'a' is set twice: at f.yml:1:1 and again at f.yml:2:1", error.Message);
    }

    [Fact]
    public void NestingDeeperThanTheLimitIsAnError()
    {
        // 'a' is one level, each list one more: the innermost list is at the limit.
        var ok = "a: " + new string('[', ConfigLimits.MaxDepth - 1) + "1" + new string(']', ConfigLimits.MaxDepth - 1) + "\n";
        new YamlConfigLoader().LoadText(ok, "f.yml");

        var error = LoadError("a: " + new string('[', ConfigLimits.MaxDepth) + "1" + new string(']', ConfigLimits.MaxDepth) + "\n");
        Assert.Contains($"nested more than {ConfigLimits.MaxDepth} levels deep", error.Message);
        Assert.Contains("f.yml:1:", error.Message);
    }

    [Fact]
    public void ADottedKeyCountsOneLevelPerPart()
    {
        var key = string.Join('.', Enumerable.Repeat("k", ConfigLimits.MaxDepth + 1));
        var error = LoadError(key + ": 1\n");
        Assert.Contains($"nested more than {ConfigLimits.MaxDepth} levels deep", error.Message);
        Assert.Contains("f.yml:1:1", error.Message);
    }

    [Fact]
    public void AnAliasPlacedDeepCountsItsOwnDepth()
    {
        var deep = new string('[', 20) + new string(']', 20);
        var error = LoadError($"a: &a {deep}\nb: [[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]\n");
        Assert.Contains($"nested more than {ConfigLimits.MaxDepth} levels deep", error.Message);
        Assert.Contains("f.yml:2:", error.Message);
    }

    [Fact]
    public void AliasExpansionIsBounded()
    {
        var yaml = new System.Text.StringBuilder("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n");
        for (var i = 1; i <= 6; i++)
        {
            yaml.Append($"l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat(i == 1 ? "*a" : $"*l{i - 1}", 10))}]\n");
        }

        var error = LoadError(yaml.ToString());
        Assert.Contains($"YAML aliases expand to more than {ConfigLimits.MaxAliasValues} values", error.Message);

        var root = new YamlConfigLoader().LoadText("a: &a {x: 1}\nb: *a\nc: [*a, *a]\n", "f.yml");
        Assert.Equal("c.1.x", ((ConfigMap)((ConfigList)root.Get("c")!).Items[1]).Get("x")!.Path);
    }

    [Fact]
    public void AMapOfManyKeysLoadsInLinearTime()
    {
        // Before keys were indexed, 100,000 keys took more than two minutes; it is about a second now.
        var yaml = new System.Text.StringBuilder("fields:\n");
        for (var i = 0; i < 100_000; i++)
        {
            yaml.Append("  key").Append(i).Append(": v\n");
        }

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var fields = (ConfigMap)new YamlConfigLoader().LoadText(yaml.ToString(), "f.yml").Get("fields")!;
        Assert.Equal(100_000, fields.Count);
        Assert.NotNull(fields.Get("key99999"));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task AFifoIsRefusedWithoutBlocking()
    {
        using var directory = new Shipper.Tests.Support.TempDirectory();
        var fifo = directory.Combine("shipper.yml");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", new[] { fifo }))
        {
            mkfifo.WaitForExit();
        }

        var load = Task.Run(() => new YamlConfigLoader().LoadFile(fifo));
        Assert.True(await Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(30))) == load, "reading a FIFO blocked");
        var error = Assert.IsType<ConfigException>(load.Exception?.InnerException);
        Assert.Contains($"config file {fifo} is a FIFO, not a regular file", error.Message);
    }

    [Fact]
    public void ADirectoryIsNamedAsADirectory()
    {
        using var directory = new Shipper.Tests.Support.TempDirectory();
        var error = Assert.Throws<ConfigException>(() => new YamlConfigLoader().LoadFile(directory.Path));
        Assert.Contains($"config file {directory.Path} is a directory, not a regular file", error.Message);
    }
}
