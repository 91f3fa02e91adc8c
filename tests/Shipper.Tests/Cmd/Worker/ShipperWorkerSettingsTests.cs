using Shipper.Config;
using Shipper.Module.Registry;
using Shipper.Tests.Support;
using Shipper.Worker;

namespace Shipper.Tests.Cmd.Worker;

/// <summary>How the worker applies settings that other settings can override, and what it reports about them.</summary>
public class ShipperWorkerSettingsTests
{
    private const string WithElasticsearch = """
        shipper.modules:
          - module: system
            datasets: [process]
        output.elasticsearch:
          hosts: ["http://127.0.0.1:9"]
        """;

    private static async Task<ShipperWorker> BuildAsync(string yaml)
    {
        using var config = new TempConfig(yaml);
        var settings = ConfigLoader.Load(config.Path, true, Array.Empty<string>(), new PathSettings("", "", "", ""), strictPerms: true);
        await Task.Yield();
        return ShipperWorker.Build(settings, new WorkerOptions { ForRun = false }, BuiltInDatasets.Create());
    }

    private static long Gauge(ShipperWorker worker, string name)
    {
        foreach (var metric in worker.Metrics.Snapshot())
        {
            if (metric.Name == name)
            {
                return metric.Number;
            }
        }

        throw new KeyNotFoundException(name);
    }

    [Fact]
    public async Task APresetReplacesExplicitQueueSettingsWithAWarningPerKeyAndStateAgreesWithStats()
    {
        await using var worker = await BuildAsync(WithElasticsearch + """

              preset: balanced
            queue.mem:
              events: 8192
              flush.timeout: 2s
              bytes: 32 MiB
            """);

        Assert.Contains(worker.Warnings, w => w.Contains("performance preset 'balanced' overrides the setting queue.mem.events: 8192 is replaced by 3200"));
        Assert.Contains(worker.Warnings, w => w.Contains("overrides the setting queue.mem.flush.timeout: 2s is replaced by 10s"));
        Assert.DoesNotContain(worker.Warnings, w => w.Contains("queue.mem.bytes"));
        Assert.Equal(3200, worker.Pipeline.Batching.Events);
        Assert.Equal(3200, Gauge(worker, "pipeline.queue.max_events"));
        Assert.Equal("3200", worker.State()["queue.mem.events"]);
        Assert.Equal((32L << 20).ToString(global::System.Globalization.CultureInfo.InvariantCulture), worker.State()["queue.mem.bytes"]);
        Assert.Equal(32L << 20, Gauge(worker, "pipeline.queue.max_bytes"));
    }

    [Fact]
    public async Task WithoutAPresetTheConfiguredQueueIsWhatStateAndStatsReport()
    {
        await using var worker = await BuildAsync(WithElasticsearch + "\nqueue.mem.events: 8192\n");
        Assert.DoesNotContain(worker.Warnings, w => w.Contains("preset"));
        Assert.Equal("8192", worker.State()["queue.mem.events"]);
        Assert.Equal(8192, Gauge(worker, "pipeline.queue.max_events"));
    }

    [Fact]
    public async Task MonitoringSettingsThatDoNothingAreWarnedAboutAndTheClusterUuidIsInState()
    {
        await using var worker = await BuildAsync(WithElasticsearch + """

            monitoring:
              cluster_uuid: abc-123
              elasticsearch:
                hosts: ["http://monitoring:9200"]
            """);

        Assert.Equal("abc-123", worker.State()["monitoring.cluster_uuid"]);
        Assert.Contains(worker.Warnings, w => w.StartsWith("monitoring.elasticsearch (", StringComparison.Ordinal) && w.Contains("has no effect"));
        Assert.DoesNotContain(worker.Warnings, w => w.Contains("monitoring.cluster_uuid"));
    }

    [Fact]
    public async Task EnablingInternalMonitoringCollectionIsAnErrorThatSaysWhatToUse()
    {
        var error = await Assert.ThrowsAsync<Shipper.Module.Config.ConfigException>(() => BuildAsync(WithElasticsearch + "\nmonitoring.enabled: true\n"));
        Assert.Equal("monitoring.enabled", error.Path);
        Assert.Contains("http.enabled", error.Message);
    }

    [Fact]
    public async Task ThePeriodOfANetlinkProcessDatasetIsAWarning()
    {
        await using var worker = await BuildAsync("""
            shipper.modules:
              - module: system
                datasets: [process]
                period: 10s
                process.backend: netlink
            output.console.enabled: true
            """);
        Assert.Contains(worker.Warnings, w => w.Contains(".period (") && w.Contains("has no effect with process.backend netlink"));
    }
}
