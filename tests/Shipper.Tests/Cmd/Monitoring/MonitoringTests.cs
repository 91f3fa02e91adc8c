using System.Net.Http;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Monitoring;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Monitoring;

public class MonitoringTests
{
    [Fact]
    public void TheLogReportsCounterDeltasAndGaugesThenTotals()
    {
        var metrics = new MetricsRegistry();
        var sink = new CollectingLogSink();
        var reporter = new MetricsLogReporter(metrics, new Logger(sink, "monitoring"), TimeSpan.FromSeconds(30), new FakeTimeProvider());
        metrics.Counter("pipeline.events.total").Add(5);
        metrics.Gauge("process.tracked").Set(42);
        metrics.Text("process.backend").Set("netlink");
        reporter.ReportDelta();
        metrics.Counter("pipeline.events.total").Add(2);
        reporter.ReportDelta();
        reporter.ReportTotals();

        var lines = sink.Lines.ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Contains("Non-zero metrics in the last 30s: {\"pipeline\":{\"events\":{\"total\":5}},\"process\":{\"backend\":\"netlink\",\"tracked\":42}}", lines[0]);
        Assert.Contains("{\"pipeline\":{\"events\":{\"total\":2}}", lines[1]);
        Assert.Contains("Total metrics: {\"pipeline\":{\"events\":{\"total\":7}}", lines[2]);
    }

    [Fact]
    public async Task StatsEndpointServesTheRegistryAsNestedJson()
    {
        var metrics = new MetricsRegistry();
        metrics.Counter("output.events.acked").Add(9);
        metrics.GaugeFunc("pipeline.queue.filled.events", () => 3);
        var agent = new AgentInfo { Name = "n", Version = "1.0.0", Id = "id-1", EphemeralId = "e" };
        await using var server = new StatsServer("127.0.0.1", 0, metrics, agent, HostInfo.Read(), () => new Dictionary<string, string> { ["output.name"] = "console" }, Logger.Null);
        server.Start();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.LocalEndpoint}") };

        using var stats = JsonDocument.Parse(await http.GetStringAsync("/stats"));
        Assert.Equal(9, stats.RootElement.GetProperty("output").GetProperty("events").GetProperty("acked").GetInt64());
        Assert.Equal(3, stats.RootElement.GetProperty("pipeline").GetProperty("queue").GetProperty("filled").GetProperty("events").GetInt64());

        using var info = JsonDocument.Parse(await http.GetStringAsync("/"));
        Assert.Equal("shipper", info.RootElement.GetProperty("beat").GetString());
        Assert.Equal("id-1", info.RootElement.GetProperty("uuid").GetString());

        using var state = JsonDocument.Parse(await http.GetStringAsync("/state"));
        Assert.Equal("console", state.RootElement.GetProperty("output.name").GetString());

        var missing = await http.GetAsync("/nope");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
    }
}
