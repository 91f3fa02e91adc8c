using System.Diagnostics;
using System.Globalization;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;
using Shipper.Tests.Cmd.Watchdog;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>
/// The real binary against a cluster whose every <c>_bulk</c> reply is hostile, alternately a chunked body
/// without end and a chunked gzip bomb (4 GiB of spaces in 4 MB): the worker must refuse each at the cap, say
/// so naming the host and the cap, and stay small. Before the cap it grew to gigabytes within seconds.
/// </summary>
public sealed class HostileReplyEndToEndTests : IDisposable
{
    private const long WorkerMemoryBound = 200L * 1024 * 1024;

    private readonly ITestOutputHelper _output;
    private readonly TempConfig _config;

    public HostileReplyEndToEndTests(ITestOutputHelper output)
    {
        _output = output;
        _config = new TempConfig("");
    }

    public void Dispose() => _config.Dispose();

    [KernelFact]
    public async Task TheWorkerStaysSmallWhileEveryBulkReplyIsEndlessOrAGzipBomb()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.BulkFaults = n => n % 2 == 1 ? new BulkFault.EndlessChunkedReply() : new BulkFault.GzipBomb(4L << 30, AnnounceLength: false);

        // memory_limit well above the bound, so a growing worker is measured rather than killed at once.
        File.WriteAllText(_config.Path, $"""
            shipper.modules:
              - module: system
                datasets: [process]
            output.elasticsearch:
              hosts: ["{es.Url}"]
              backoff.init: 100ms
              backoff.max: 200ms
            watchdog.memory_limit: 1000
            shipper.shutdown_timeout: 2s
            logging.metrics.enabled: false
            """);
        using var shipper = ShipperProcess.Start(_config.Path, _config.Directory, _output);
        var worker = shipper.WaitForWorker(0, TimeSpan.FromSeconds(20));
        shipper.Log.WaitFor("process: backend", TimeSpan.FromSeconds(20));
        using (var storm = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "i=0; while [ $i -lt 50 ]; do /bin/true; i=$((i+1)); done"]))!)
        {
            storm.WaitForExit();
        }

        var host = $"to http://127.0.0.1:{es.Port} failed";
        long peak = 0;
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(60) && (es.BulkRequestCount < 8 || !Logged(shipper, host, "bytes as sent") || !Logged(shipper, host, "inflates to more than")))
        {
            peak = Math.Max(peak, HighWaterMark(worker));
            Assert.False(ShipperProcess.IsGone(worker), $"the worker died (peak {peak / 1048576} MiB seen)");
            await Task.Delay(20);
        }

        peak = Math.Max(peak, HighWaterMark(worker));
        _output.WriteLine($"worker VmHWM {peak / 1048576.0:0.0} MiB after {es.BulkRequestCount} hostile bulk replies");
        Assert.True(es.BulkRequestCount >= 8, $"only {es.BulkRequestCount} bulk requests in 60 s");
        Assert.True(Logged(shipper, host, "bytes as sent"), "no error for the endless reply");
        Assert.True(Logged(shipper, host, "inflates to more than"), "no error for the gzip bomb");
        Assert.True(peak < WorkerMemoryBound, $"the worker reached {peak / 1048576} MiB (VmHWM)");
        Assert.Equal([worker], shipper.WorkerPids());
        Assert.Equal(0, es.StoredCount);

        shipper.Signal(15);
        Assert.True(shipper.WaitForExit(TimeSpan.FromSeconds(10)), "the shipper did not stop");
    }

    private static bool Logged(ShipperProcess shipper, string host, string what) =>
        shipper.Log.Lines.Any(l => l.Contains(host, StringComparison.Ordinal) && l.Contains(what, StringComparison.Ordinal) && l.Contains(" bytes", StringComparison.Ordinal));

    /// <summary>VmHWM (peak resident memory) from /proc/PID/status, in bytes; 0 once the process is gone.</summary>
    private static long HighWaterMark(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return 0;
    }
}
