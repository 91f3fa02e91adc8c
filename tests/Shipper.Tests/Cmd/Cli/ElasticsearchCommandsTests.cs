using System.Diagnostics;
using System.Text.Json;
using Shipper.Cli;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Cli;

/// <summary>The Elasticsearch verbs and `shipper run` against the loopback Elasticsearch, as a user runs them.</summary>
public class ElasticsearchCommandsTests
{
    private static string Config(LoopbackElasticsearch es) => $"""
        shipper.modules:
          - module: system
            datasets: [process]
        output.elasticsearch:
          hosts: ["{es.Url}"]
          username: shipper
          password: s3cret
          compression_level: 1
        queue.mem.flush.timeout: 100ms
        """;

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CommandLine.Run(args, stdout, stderr, Stream.Null);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task TestOutputReportsEachStepAndTheVersion()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.Users["shipper"] = "s3cret";
        using var config = new TempConfig(Config(es));
        var (code, stdout, _) = Run("test", "output", "-c", config.Path);
        Assert.Equal(0, code);
        Assert.Contains("talk to server... OK", stdout);
        Assert.Contains("version: 8.15.0", stdout);

        var (badCode, badOut, _) = Run("test", "output", "-c", config.Path, "-E", "output.elasticsearch.password=wrong");
        Assert.Equal(1, badCode);
        Assert.Contains("ERROR", badOut);
        Assert.DoesNotContain("wrong", badOut);
    }

    [Fact]
    public async Task SetupLoadsTheTemplateFromFieldsYml()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.Users["shipper"] = "s3cret";
        using var config = new TempConfig(Config(es));
        var (code, _, _) = Run("setup", "--index-management", "-c", config.Path);
        Assert.Equal(0, code);
        var template = Assert.Single(es.Templates);
        Assert.StartsWith("shipper-", template.Key);
    }

    [Fact]
    public void ExportTemplateIsValidJsonWithTheProcessMappings()
    {
        using var config = new TempConfig("shipper.modules:\n  - module: system\n    datasets: [process]\noutput.console: {}\n");
        var (code, stdout, _) = Run("export", "template", "-c", config.Path);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var properties = doc.RootElement.GetProperty("template").GetProperty("mappings").GetProperty("properties");
        Assert.Equal("long", properties.GetProperty("process").GetProperty("properties").GetProperty("pid").GetProperty("type").GetString());
        Assert.Equal("date", properties.GetProperty("@timestamp").GetProperty("type").GetString());
    }

    [KernelFact]
    public async Task RunShipsProcessDocumentsIntoTheDataStream()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.Users["shipper"] = "s3cret";
        using var config = new TempConfig(Config(es));
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "shipper")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "run", "-e", "-c", config.Path, "--path.data", Path.Combine(config.Directory, "data"), "--disable-watchdog" })
        {
            start.ArgumentList.Add(arg);
        }

        using var shipper = Process.Start(start)!;
        try
        {
            await ShipAndStopAsync(shipper, es);
        }
        finally
        {
            if (!shipper.HasExited)
            {
                shipper.Kill(entireProcessTree: true); // never leave a shipper behind a failed test
            }
        }
    }

    private static async Task ShipAndStopAsync(Process shipper, LoopbackElasticsearch es)
    {
        var stderr = shipper.StandardError.ReadToEndAsync();
        var marker = "es-e2e-" + Guid.NewGuid().ToString("N");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string? found = null;
        while (found is null && DateTime.UtcNow < deadline)
        {
            using (var probe = Process.Start("/bin/true", marker)!)
            {
                await probe.WaitForExitAsync();
            }

            await Task.Delay(500);
            foreach (var index in es.IndexNames)
            {
                found ??= es.Documents(index).FirstOrDefault(d => d.Contains(marker, StringComparison.Ordinal));
            }
        }

        TestEnvironment.Signal(shipper.Id, 15);
        await shipper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        var log = await stderr;
        Assert.True(found is not null, "the marker process never reached Elasticsearch; log:\n" + log);
        using var doc = JsonDocument.Parse(found!);
        Assert.Equal("process_ran", doc.RootElement.GetProperty("event").GetProperty("action").GetString());
        Assert.Single(es.Templates);
        Assert.Equal(0, shipper.ExitCode);
        Assert.DoesNotContain("s3cret", log);
    }
}
