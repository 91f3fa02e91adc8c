using System.Diagnostics;
using System.Globalization;
using Shipper.Config;
using Shipper.IndexManagement;
using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Outputs.Elasticsearch;
using Shipper.Publisher;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Benchmarks.Elasticsearch;

/// <summary>
/// Prints numbers, asserts nothing: realistic process documents through <see cref="ElasticsearchOutput"/>
/// (batches of bulk_max_size from <c>worker</c> concurrent publisher loops, as the pipeline calls it) into
/// the loopback Elasticsearch running in a child process, so the CPU measured here is the shipper's alone.
/// Reports documents per second, shipper CPU seconds per 10,000 documents, bytes on the wire per document
/// (socket bytes: HTTP headers and gzip included) and allocations per document.
/// </summary>
public static class ElasticsearchBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args[0] == "elasticsearch-server")
        {
            return await ServeAsync();
        }

        var docs = 500_000;
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == "--docs" && i + 1 < args.Length)
            {
                docs = int.Parse(args[++i], CultureInfo.InvariantCulture);
            }
        }

        var (server, url) = await StartServerAsync();
        using var serverProcess = server;

        Console.WriteLine($"Elasticsearch output: {docs:N0} process documents per run into the loopback Elasticsearch (child process), {Environment.ProcessorCount} cores");
        var sample = Pool();
        Console.WriteLine($"documents of {sample.Take(1000).Average(e => TestDocuments.Expected(e).Length):0} bytes of JSON on average; bulk_max_size 1600; shipper CPU = this process only");
        Console.WriteLine("publisher loops = concurrent PublishAsync callers (one more than worker lets a batch be encoded while another is in flight)");
        Console.WriteLine($"{"compression",-12} {"worker",6} {"loops",6} {"docs/s",10} {"cpu s/10k",10} {"bytes/doc",10} {"alloc B/doc",12} {"server cpu s/10k",17}");
        foreach (var (compression, worker, loops) in new[] { (1, 1, 1), (1, 1, 2), (0, 1, 2), (1, 2, 3), (0, 2, 3), (5, 1, 2), (9, 1, 2) })
        {
            await RunOneAsync(url, server, compression, worker, loops, docs, throughPipeline: false);
        }

        Console.WriteLine("through the publisher (Pipeline: queue.mem 3200/1600, one producer, batch = bulk_max_size, pipeline workers = loops):");
        foreach (var (compression, worker, loops) in new[] { (1, 1, 1), (1, 1, 2), (0, 1, 2), (1, 2, 3) })
        {
            await RunOneAsync(url, server, compression, worker, loops, docs, throughPipeline: true);
        }

        await StopServerAsync(server);
        return 0;
    }

    /// <summary>Starts the loopback Elasticsearch in a child process (its CPU is not this process's); returns it and its URL.</summary>
    internal static async Task<(Process Server, string Url)> StartServerAsync()
    {
        var server = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, "elasticsearch-server")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        })!;
        var portLine = await server.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the loopback server did not start");
        return (server, $"http://127.0.0.1:{portLine.Split(' ')[1]}");
    }

    /// <summary>Prints the server's counts (every document sent must have arrived) and lets it exit.</summary>
    internal static async Task StopServerAsync(Process server)
    {
        await server.StandardInput.WriteLineAsync("stats");
        var stats = await server.StandardOutput.ReadLineAsync();
        Console.WriteLine($"server: {stats}");
        server.StandardInput.Close();
        await server.WaitForExitAsync();
    }

    private static async Task RunOneAsync(string url, Process server, int compression, int worker, int loops, int docs, bool throughPipeline)
    {
        var metrics = new MetricsRegistry();
        var section = new ConfigSection(new ConfigMap("output.elasticsearch", SourceLocation.None), new ConfigReadTracker());
        section.Map.Set("hosts", Scalar("hosts", url));
        section.Map.Set("compression_level", Scalar("compression_level", compression.ToString(CultureInfo.InvariantCulture)));
        section.Map.Set("worker", Scalar("worker", worker.ToString(CultureInfo.InvariantCulture)));
        var settings = ElasticsearchSettings.Parse(section);
        await using var output = new ElasticsearchOutput(settings, TemplateSettings.Default, TestDocuments.Writer, metrics, Logger.Null, TimeProvider.System);

        var pool = Pool();
        Pipeline? pipeline = null;
        if (throughPipeline)
        {
            pipeline = new Pipeline(new QueueSettings(3200, 1600, TimeSpan.FromSeconds(10)), output, settings.BulkMaxSize, loops, metrics, Logger.Null, TimeProvider.System);
            pipeline.Start();
        }

        Func<int, Task> publish = pipeline is null
            ? count => PublishAsync(output, pool, loops, settings.BulkMaxSize, count)
            : count => ProduceAsync(pipeline, metrics, pool, count);

        await publish(64_000); // warm-up: JIT, connections, template
        var written = metrics.Counter("output.write.bytes").Value;
        var self = Process.GetCurrentProcess();
        self.Refresh();
        server.Refresh();
        var cpu = self.TotalProcessorTime;
        var serverCpu = server.TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();

        await publish(docs);

        watch.Stop();
        self.Refresh();
        server.Refresh();
        var cpuSeconds = (self.TotalProcessorTime - cpu).TotalSeconds;
        var serverSeconds = (server.TotalProcessorTime - serverCpu).TotalSeconds;
        var bytes = metrics.Counter("output.write.bytes").Value - written;
        var alloc = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        Console.WriteLine(
            $"{(compression == 0 ? "off" : "gzip " + compression),-12} {worker,6} {loops,6} {docs / watch.Elapsed.TotalSeconds,10:N0} {cpuSeconds * 10_000 / docs,10:0.000} {(double)bytes / docs,10:0.0} {(double)alloc / docs,12:0} {serverSeconds * 10_000 / docs,17:0.000}");
    }

    /// <summary>One producer feeding the real publisher, as a dataset does; done when the queue acked them all.</summary>
    private static async Task ProduceAsync(Pipeline pipeline, MetricsRegistry metrics, Event[] pool, int total)
    {
        var acked = metrics.Counter("pipeline.queue.acked");
        var target = acked.Value + total;
        for (var i = 0; i < total; i++)
        {
            await pipeline.PublishAsync(pool[i % pool.Length], CancellationToken.None);
        }

        while (acked.Value < target)
        {
            await Task.Delay(1);
        }
    }

    private static async Task PublishAsync(ElasticsearchOutput output, Event[] pool, int loops, int batchSize, int total)
    {
        var next = 0;
        var tasks = new Task[loops];
        for (var l = 0; l < loops; l++)
        {
            tasks[l] = Task.Run(async () =>
            {
                var batch = new List<Event>(batchSize);
                while (true)
                {
                    var start = Interlocked.Add(ref next, batchSize) - batchSize;
                    if (start >= total)
                    {
                        return;
                    }

                    batch.Clear();
                    for (var i = start; i < Math.Min(start + batchSize, total); i++)
                    {
                        batch.Add(pool[i % pool.Length]);
                    }

                    var pending = (IReadOnlyList<Event>)batch;
                    while (pending.Count > 0)
                    {
                        var result = await output.PublishAsync(pending, CancellationToken.None);
                        pending = result.Retry;
                    }
                }
            });
        }

        await Task.WhenAll(tasks);
    }

    /// <summary>Distinct, realistic documents, reused round-robin (the output keeps nothing).</summary>
    internal static Event[] Pool()
    {
        var random = new Random(7);
        var categories = new[] { "process" };
        var types = new[] { "start" };
        var pool = new Event[16_000];
        for (var i = 0; i < pool.Length; i++)
        {
            pool[i] = new Event
            {
                Timestamp = new DateTime(2024, 5, 17, 10, 0, 0, DateTimeKind.Utc).AddMilliseconds(i * 7),
                Module = "system",
                Dataset = "process",
                Action = "process_started",
                Categories = categories,
                Types = types,
                Body = new BenchProcessBody(i, random),
            };
        }

        return pool;
    }

    internal static ConfigScalar Scalar(string key, string value) => new("output.elasticsearch." + key, SourceLocation.None, value, false);

    /// <summary>The child process: a loopback Elasticsearch that counts documents instead of keeping them.</summary>
    private static async Task<int> ServeAsync()
    {
        await using var es = await LoopbackElasticsearch.StartAsync();
        es.StoreDocuments = false;
        es.ValidateDocuments = false;
        Console.WriteLine($"PORT {es.Port}");
        while (await Console.In.ReadLineAsync() is { } line)
        {
            if (line == "stats")
            {
                Console.WriteLine($"{es.StoredCount:N0} documents indexed in {es.BulkRequestCount:N0} bulk requests, {es.Errors.Count} handler errors");
            }
        }

        return 0;
    }
}
