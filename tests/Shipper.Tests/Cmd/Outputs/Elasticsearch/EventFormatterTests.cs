using System.Text;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

public class EventFormatterTests
{
    private static readonly Func<string, string?> Constants = EventFormatter.ConstantFields(TestDocuments.Writer);

    private static string? Format(string format, Shipper.Module.Registry.Event evt, out string? missing)
    {
        var formatter = new EventFormatter(FormatString.Parse(format), Constants, lowercase: true);
        var doc = Encoding.UTF8.GetBytes(TestDocuments.Expected(evt));
        return formatter.TryFormat(evt, doc, out var value, out missing) ? value : null;
    }

    [Fact]
    public void TheDefaultIndexIsConstant()
    {
        var formatter = new EventFormatter(FormatString.Parse(ElasticsearchSettingsTestsHelper.DefaultIndex), Constants, lowercase: true);
        Assert.Equal("shipper-" + TestDocuments.Agent.Version, formatter.Constant);
    }

    [Fact]
    public void DatesComeFromTheEventTimestampInUtc()
    {
        var evt = TestDocuments.Process(1, new DateTime(2024, 12, 31, 23, 30, 0, DateTimeKind.Utc));
        Assert.Equal("shipper-2024.12.31-23", Format("shipper-%{+yyyy.MM.dd-HH}", evt, out _));
    }

    [Fact]
    public void FieldsComeFromTheEventOrItsDocument()
    {
        var evt = TestDocuments.Process(5);
        Assert.Equal("system-process-process_started", Format("%{[event.module]}-%{[event.dataset]}-%{[event.action]}", evt, out _));
        Assert.Equal("x-alice-1005", Format("x-%{[user.name]}-%{[process.pid]}", evt, out _));
        Assert.Equal("debian-test-host", Format("%{[host.os.platform]}-%{[agent.name]}", evt, out _));
    }

    [Fact]
    public void BracketChainsNameNestedFieldsAsInLibbeat()
    {
        // Older auditbeat.yml files write the index as %{[@metadata][beat]}-%{[@metadata][version]}.
        var evt = TestDocuments.Process(5);
        Assert.Equal("shipper-" + TestDocuments.Agent.Version, Format("%{[@metadata][beat]}-%{[@metadata][version]}", evt, out _));
        Assert.Equal("x-alice-none", Format("x-%{[user][name]}-%{[fields][team]:none}", evt, out _));
    }

    [Fact]
    public void MissingFieldsUseTheDefaultOrFail()
    {
        var evt = TestDocuments.Process(5);
        Assert.Equal("logs-none", Format("logs-%{[fields.team]:none}", evt, out _));
        Assert.Null(Format("logs-%{[fields.team]}", evt, out var missing));
        Assert.Equal("fields.team", missing);
    }

    [Fact]
    public void ResultsAreLowercasedAndReusedWhileUnchanged()
    {
        var formatter = new EventFormatter(FormatString.Parse("Logs-%{[user.name]}-%{+yyyy}"), Constants, lowercase: true);
        var a = TestDocuments.Process(1);
        var b = TestDocuments.Process(2);
        Assert.True(formatter.TryFormat(a, Encoding.UTF8.GetBytes(TestDocuments.Expected(a)), out var first, out _));
        Assert.True(formatter.TryFormat(b, Encoding.UTF8.GetBytes(TestDocuments.Expected(b)), out var second, out _));
        Assert.Equal("logs-alice-2024", first);
        Assert.Same(first, second);
    }

    [Theory]
    [InlineData("%{[a.b")]
    [InlineData("%{x}")]
    [InlineData("%{[]}")]
    [InlineData("%{[a][]}")]
    [InlineData("%{[a][b}")]
    [InlineData("%{[a]b}")]
    [InlineData("%{+}")]
    [InlineData("%{+yyyy.ww}")]
    public void BadFormatsAreRefused(string text) => Assert.Throws<FormatException>(() => FormatString.Parse(text));
}

internal static class ElasticsearchSettingsTestsHelper
{
    public const string DefaultIndex = ElasticsearchSettings.DefaultIndex;
}
