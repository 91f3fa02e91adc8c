using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;
using Shipper.Tests.Cmd.Watchdog;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Config;

/// <summary>
/// config/auditbeat-compatible.yml must make a Shipper write where Elastic Security's Linux rules and the
/// Auditbeat dashboards read (index pattern <c>auditbeat-*</c>): run as shipped, against the loopback cluster.
/// </summary>
public sealed class AuditbeatCompatibleConfigTests
{
    /// <summary>The index pattern of Elastic Security's Auditbeat-based rules and of the Auditbeat dashboards.</summary>
    private static readonly Regex AuditbeatPattern = new("^auditbeat-.*$", RegexOptions.CultureInvariant);

    private readonly ITestOutputHelper _output;

    public AuditbeatCompatibleConfigTests(ITestOutputHelper output) => _output = output;

    private static string RepoFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Shipper.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        return Path.Combine(dir!.FullName, relative);
    }

    /// <summary>
    /// Whether an index pattern of a template matches a name, as Elasticsearch matches them (<c>*</c> is any run
    /// of characters, everything else literal).
    /// </summary>
    private static bool PatternMatches(string pattern, string name) =>
        Regex.IsMatch(name, "^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal) + "$", RegexOptions.CultureInvariant);

    [KernelFact]
    public async Task ItsDocumentsLandInADataStreamThatAuditbeatStarMatchesThroughItsOwnTemplate()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        using var config = new TempConfig(File.ReadAllText(RepoFile("config/auditbeat-compatible.yml")));
        var environment = new Dictionary<string, string> { ["ELASTICSEARCH_HOSTS"] = es.Url.ToString().TrimEnd('/') };
        using var shipper = ShipperProcess.Start(config.Path, config.Directory, _output, environment);
        shipper.WaitForWorker(0, TimeSpan.FromSeconds(20));
        shipper.Log.WaitFor("process: backend", TimeSpan.FromSeconds(20));
        using (var child = Process.Start(new ProcessStartInfo("/bin/true"))!)
        {
            child.WaitForExit();
        }

        var stopwatch = Stopwatch.StartNew();
        while (es.StoredCount == 0 && stopwatch.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }

        shipper.Signal(15);
        Assert.True(shipper.WaitForExit(TimeSpan.FromSeconds(15)), "the shipper did not stop");
        Assert.True(es.StoredCount > 0, "no document reached the cluster in 30 s");

        var index = Assert.Single(es.IndexNames);
        Assert.Matches(AuditbeatPattern, index);
        Assert.StartsWith("auditbeat-shipper-", index, StringComparison.Ordinal);
        Assert.True(es.DataStreams.ContainsKey(index), $"{index} is not a data stream");

        var template = Assert.Single(es.Templates.Values);
        Assert.Equal(index, template.Name);
        Assert.Contains(template.Patterns, p => PatternMatches(p, index));
        Assert.All(template.Patterns, p => Assert.Matches(AuditbeatPattern, p));
        Assert.True(template.DataStream);

        var document = JsonNode.Parse(es.Documents(index)[0])!;
        Assert.Equal("system", (string?)document["event"]?["module"]);
        Assert.Equal("process", (string?)document["event"]?["dataset"]);
    }
}
