using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;
using Shipper.Tests.Cmd.Watchdog;
using Shipper.Tests.Support;
using static Shipper.Tests.Cmd.Worker.TotalMetricsLine;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Worker;

/// <summary>
/// The real binary losing events: losses are said at WARN while they happen, one line per counter per 10 s
/// however many events are lost, and the stop line adds up every loss counter instead of saying that every
/// event was delivered (it did, after dropping 8,388).
/// </summary>
public sealed partial class LossReportingEndToEndTests : IDisposable
{
    private const int SIGTERM = 15;

    private readonly ITestOutputHelper _output;
    private readonly TempConfig _config;

    public LossReportingEndToEndTests(ITestOutputHelper output)
    {
        _output = output;
        _config = new TempConfig("");
    }

    public void Dispose() => _config.Dispose();

    [KernelFact]
    public async Task EventsTheOutputDropsAreWarnedAboutRateLimitedAndCountedInTheStopLine()
    {
        // Elasticsearch refuses every document (400, not indexable): the output drops them as they come.
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.ItemStatus = _ => 400;
        using var shipper = Start($"http://127.0.0.1:{es.Port.ToString(CultureInfo.InvariantCulture)}");
        shipper.Log.WaitFor("process: backend", TimeSpan.FromSeconds(20));

        // Four bursts a second apart: drops go on for seconds after the first one is said.
        var stopwatch = Stopwatch.StartNew();
        for (var burst = 0; burst < 4; burst++)
        {
            RunProcesses(50);
            Thread.Sleep(1000);
        }

        Thread.Sleep(1500);
        shipper.Signal(SIGTERM);
        Assert.True(shipper.WaitForExit(TimeSpan.FromSeconds(10)), "the shipper did not stop");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(9), "the run took too long to tell the rate limit");

        var totals = Totals(shipper.Log.WaitFor("Total metrics:", TimeSpan.FromSeconds(1)));
        var dropped = Number(totals, "pipeline", "events", "dropped");
        Assert.True(dropped >= 200, $"only {dropped} events dropped for 200 processes");

        // One line within the 10 s interval, however many were dropped after it; it came while the run went on.
        var lines = WarnLines(shipper, "pipeline.events.dropped");
        var line = Assert.Single(lines);
        var said = LossLine().Match(line);
        Assert.True(said.Success, line);
        Assert.Equal(said.Groups["since"].Value, said.Groups["total"].Value);
        Assert.InRange(long.Parse(said.Groups["total"].Value, CultureInfo.InvariantCulture), 1, dropped - 1);
        Assert.True(ShipperProcess.TimeOf(line) < ShipperProcess.TimeOf(shipper.Log.WaitFor("stopping:", TimeSpan.Zero)));

        AssertStopLineAddsUp(shipper, totals);
        Assert.Contains($"pipeline.events.dropped {dropped}", shipper.Log.WaitFor("shipper stopped;", TimeSpan.Zero));
    }

    [KernelFact]
    public void EventsATinyQueueCouldNotDeliverToAStalledOutputAreWarnedAboutAndCountedInTheStopLine()
    {
        using var shipper = Start($"http://127.0.0.1:{FreePort.BelowEphemeralRange().ToString(CultureInfo.InvariantCulture)}");
        shipper.Log.WaitFor("process: backend", TimeSpan.FromSeconds(20));
        RunProcesses(100);
        Thread.Sleep(1500);
        shipper.Signal(SIGTERM);
        Assert.True(shipper.WaitForExit(TimeSpan.FromSeconds(10)), "the shipper did not stop");

        var totals = Totals(shipper.Log.WaitFor("Total metrics:", TimeSpan.FromSeconds(1)));
        var undelivered = Number(totals, "pipeline", "events", "undelivered");
        Assert.True(undelivered > 0);
        var line = Assert.Single(WarnLines(shipper, "pipeline.events.undelivered"));
        Assert.Equal(undelivered.ToString(CultureInfo.InvariantCulture), LossLine().Match(line).Groups["total"].Value);
        AssertStopLineAddsUp(shipper, totals);
        Assert.DoesNotContain("every event the publisher accepted was delivered", shipper.Log.Text);
    }

    private ShipperProcess Start(string host)
    {
        File.WriteAllText(_config.Path, $"""
            shipper.modules:
              - module: system
                datasets: [process]
            queue.mem.events: 8
            output.elasticsearch:
              hosts: ["{host}"]
              bulk_max_size: 4
              backoff.init: 100ms
              backoff.max: 200ms
            shipper.shutdown_timeout: 2s
            logging.metrics.enabled: false
            """);
        return ShipperProcess.Start(_config.Path, _config.Directory, _output, extraArgs: "--disable-watchdog");
    }

    private static void RunProcesses(int count)
    {
        using var storm = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"i=0; while [ $i -lt {count} ]; do /bin/true; i=$((i+1)); done"]))!;
        storm.WaitForExit();
    }

    private static List<string> WarnLines(ShipperProcess shipper, string counter) =>
        shipper.Log.Lines.Where(l => l.Contains("\tWARN\t", StringComparison.Ordinal) && l.Contains($"events lost ({counter}:", StringComparison.Ordinal)).ToList();

    /// <summary>The stop line names every non-zero loss counter with its final value, and their sum.</summary>
    private static void AssertStopLineAddsUp(ShipperProcess shipper, JsonElement totals)
    {
        var stopped = shipper.Log.WaitFor("shipper stopped;", TimeSpan.FromSeconds(1));
        Assert.Contains("\tWARN\t", stopped);
        var match = StopLine().Match(stopped);
        Assert.True(match.Success, stopped);
        long sum = 0;
        foreach (var part in match.Groups["parts"].Value.Split(", "))
        {
            var (name, value) = (part[..part.LastIndexOf(' ')], long.Parse(part[(part.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
            Assert.Equal(Number(totals, name.Split('.')), value);
            sum += value;
        }

        Assert.Equal(sum, long.Parse(match.Groups["total"].Value, CultureInfo.InvariantCulture));
        foreach (var counter in new[] { "process.lost", "process.stop_dropped_events", "pipeline.events.dropped", "pipeline.events.undelivered" })
        {
            var value = Number(totals, counter.Split('.'));
            Assert.True(value == 0 || match.Groups["parts"].Value.Contains($"{counter} {value}", StringComparison.Ordinal), $"{counter} {value} missing from: {stopped}");
        }
    }

    [GeneratedRegex(@"(?<since>\d+) events lost \([a-z._]+: [^)]*\) since the last line about it; (?<total>\d+) in all")]
    private static partial Regex LossLine();

    [GeneratedRegex(@"shipper stopped; (?<total>\d+) events lost: (?<parts>[a-z._]+ \d+(, [a-z._]+ \d+)*)")]
    private static partial Regex StopLine();
}
