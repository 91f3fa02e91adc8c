using System.Globalization;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;
using Shipper.Tests.Cmd.Watchdog;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// The real shipper binary with the process dataset, <c>queue.disk</c> and the Elasticsearch output pointed at
/// a fixed loopback port where nothing listens until the test starts the loopback server there; <c>/stats</c> on
/// another fixed port, so the test reads every worker the watcher starts at the same address. One home
/// directory for all its runs, so a second <see cref="Start"/> finds the queue the first one left.
/// </summary>
public sealed class DiskQueueShipper : IDisposable
{
    private const int SIGKILL = 9;

    private readonly TempConfig _config;
    private readonly List<ShipperProcess> _runs = new();

    /// <param name="settings">More YAML (top-level keys), e.g. a <c>watchdog:</c> section.</param>
    public DiskQueueShipper(string maxSize, string segmentSize, int bulkMaxSize, string settings = "")
    {
        _config = new TempConfig("");
        ElasticsearchPort = FreePort.BelowEphemeralRange();
        do
        {
            HttpPort = FreePort.BelowEphemeralRange();
        }
        while (HttpPort == ElasticsearchPort);

        QueuePath = Path.Combine(_config.Directory, "diskqueue");
        Stats = new StatsProbe(HttpPort);

        // backoff.max 1s: the output notices the server coming up within a second, not after up to a minute.
        File.WriteAllText(_config.Path, $"""
            shipper.modules:
              - module: system
                datasets: [process]
            queue.disk:
              path: {QueuePath}
              max_size: {maxSize}
              segment_size: {segmentSize}
            output.elasticsearch:
              hosts: ["http://127.0.0.1:{ElasticsearchPort.ToString(CultureInfo.InvariantCulture)}"]
              bulk_max_size: {bulkMaxSize.ToString(CultureInfo.InvariantCulture)}
              backoff.init: 100ms
              backoff.max: 1s
            http.enabled: true
            http.host: 127.0.0.1
            http.port: {HttpPort.ToString(CultureInfo.InvariantCulture)}
            shipper.shutdown_timeout: 10s
            logging.metrics.enabled: false
            {settings}
            """);
    }

    public int ElasticsearchPort { get; }

    public int HttpPort { get; }

    public string QueuePath { get; }

    public StatsProbe Stats { get; }

    public bool Started => _runs.Count > 0;

    /// <summary>The latest run.</summary>
    public ShipperProcess Process => _runs[^1];

    /// <param name="output">Where log lines are echoed as they come; null for long runs.</param>
    public ShipperProcess Start(ITestOutputHelper? output)
    {
        var run = ShipperProcess.Start(_config.Path, _config.Directory, output);
        _runs.Add(run);
        return run;
    }

    /// <summary>The loopback Elasticsearch, up on the port the output has been trying.</summary>
    public Task<LoopbackElasticsearch> StartElasticsearchAsync() => LoopbackElasticsearch.StartAsync(port: ElasticsearchPort);

    /// <summary>
    /// Waits for the <paramref name="index"/>-th worker (0-based) of the latest run to have its process dataset
    /// listening and its <c>/stats</c> answering; returns its pid.
    /// </summary>
    public int WaitForWorker(int index, TimeSpan timeout)
    {
        var pid = Process.WaitForWorker(index, timeout);
        Process.Log.WaitFor("process: backend", timeout, skip: index);
        Stats.WaitForAnswer(timeout);
        return pid;
    }

    /// <summary>
    /// Waits until every marker's document is written in the queue's segment files (the queue has accepted and
    /// written it: from then on no kill of the worker may lose it); returns the tally of the queue's contents.
    /// </summary>
    public MarkerTally WaitUntilQueued(string prefix, int markers, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var queued = new MarkerTally(prefix, markers);
            foreach (var document in QueuedDocuments.Read(QueuePath))
            {
                queued.Add(document);
            }

            if (queued.Distinct == markers)
            {
                return queued;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException(
                    $"{markers - queued.Distinct} of {markers} markers never reached the disk queue within {timeout.TotalSeconds}s "
                    + $"(the process dataset did not report them; not the queue's doing), e.g. {queued.MissingSample()}; "
                    + $"queue.added.events {Stats.Read("queue.added.events")}, process.lost {Stats.Read("process.lost")}");
            }

            Thread.Sleep(250);
        }
    }

    /// <summary>SIGKILL to the latest run's worker, as the OOM killer or a crash would end it; waits until it is gone.</summary>
    public void Kill(int pid)
    {
        Assert.True(Process.IsOurWorker(pid), $"{pid} is not a worker of the watcher ({Process.Pid})");
        Assert.Equal(0, LibCForTests.Kill(pid, SIGKILL));
        Assert.NotNull(ShipperProcess.WaitGone(pid, TimeSpan.FromSeconds(10)));
    }

    /// <summary>Resident memory of a process (VmRSS in /proc/pid/status), in bytes; 0 once it is gone.</summary>
    public static long Rss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            // Gone.
        }

        return 0;
    }

    public void Dispose()
    {
        foreach (var run in _runs)
        {
            run.Dispose();
        }

        Stats.Dispose();
        _config.Dispose();
    }
}
