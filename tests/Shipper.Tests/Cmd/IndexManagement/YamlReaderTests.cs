using Shipper.Config;
using Shipper.IndexManagement;

namespace Shipper.Tests.Cmd.IndexManagement;

public class YamlReaderTests
{
    [Fact]
    public void NestingPastTheLimitIsAnErrorNamingThePosition()
    {
        var ok = "- " + new string('[', ConfigLimits.MaxDepth - 1) + "x" + new string(']', ConfigLimits.MaxDepth - 1) + "\n";
        Assert.NotNull(YamlReader.Read(ok, "fields.yml").List);

        var deep = "- key: custom\n  fields: " + new string('[', 100) + new string(']', 100) + "\n";
        var error = Assert.Throws<FormatException>(() => YamlReader.Read(deep, "fields.yml"));
        Assert.Contains($"nested more than {ConfigLimits.MaxDepth} levels deep, the limit for fields.yml", error.Message);
        Assert.StartsWith("fields.yml:2:", error.Message);
    }
}
