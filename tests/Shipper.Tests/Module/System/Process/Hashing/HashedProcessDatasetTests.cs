using global::System.Collections.Concurrent;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Hashing;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Hashing;

/// <summary>The hasher plugged into the real process dataset, as the lead wires it.</summary>
public sealed class HashedProcessDatasetTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly HashFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public void BuildingTheDatasetParsesTheHashSettingsAndStartsNothing()
    {
        var context = Context(
            ("process.hash.hash_types", new[] { "sha256", "xxh64" }),
            ("process.hash.max_wait", "2s"));

        using var source = ExecutableHashSource.Create(context)!;
        _ = new ProcessDataset(context) { Hashes = source };

        context.Config.Tracker.EnsureAllConsumed(context.Config.Map);
        Assert.Equal([HashType.Sha256, HashType.Xxh64], source.Settings.HashTypes);
        Assert.Equal(TimeSpan.FromSeconds(2), source.MaxWait);
        Assert.False(source.HasherStarted);
        Assert.Contains(context.Metrics.Snapshot(), m => m.Name == "process.hash.hits");
        Assert.DoesNotContain(context.Metrics.Snapshot(), m => m.Name == "process.hash.cached");
    }

    [Fact]
    public void AnEmptyHashTypesListMeansNoHashSource() =>
        Assert.Null(ExecutableHashSource.Create(Context(("process.hash.hash_types", Array.Empty<string>()))));

    [KernelFact]
    public async Task DocumentsOfARealRunCarryTheDigestsOfItsExecutable()
    {
        var binary = _fixture.CopyOf("/usr/bin/sleep", "hashed-sleep");
        var context = Context(("process.backend", "netlink"), ("process.hash.hash_types", new[] { "sha1", "sha256" }));
        var reporter = new Collector();
        using var source = ExecutableHashSource.Create(context)!;
        var dataset = new ProcessDataset(context) { Hashes = source };
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => dataset.RunAsync(reporter, stop.Token));
        try
        {
            // The snapshot reports this test process, with the hash of the running dotnet host.
            var self = await reporter.WaitFor(d => d.Pid == Environment.ProcessId, run);
            var host = new FileInfo("/proc/self/exe").LinkTarget!;
            Assert.Equal(ExternalTool.Digest("sha256sum", host), Digest(self, "sha256"));

            var process = _fixture.Start(binary, "0.3");
            await process.WaitForExitAsync();
            var document = await reporter.WaitFor(d => d.Pid == process.Id && d.Hashes is { Count: > 0 }, run);

            Assert.Equal(binary, document.Executable);
            Assert.Equal(ExternalTool.Digest("sha1sum", binary), Digest(document, "sha1"));
            Assert.Equal(ExternalTool.Digest("sha256sum", binary), Digest(document, "sha256"));
            Assert.True(source.HasherStarted);
        }
        finally
        {
            stop.Cancel();
            try
            {
                await run.WaitAsync(Wait);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static string? Digest(ProcessDocument document, string type) =>
        document.Hashes?.FirstOrDefault(h => h.Type == type).Hex;

    private static DatasetContext Context(params (string Key, object Value)[] settings) => new()
    {
        Config = ConfigTree.Section(settings),
        Metrics = new MetricsRegistry(),
        Log = Logger.Null,
        Time = TimeProvider.System,
        HostId = "shipper-test-host",
        DataPath = Path.GetTempPath(),
    };

    private sealed class Collector : IEventReporter
    {
        private readonly ConcurrentQueue<ProcessDocument> _documents = new();

        public ValueTask PublishAsync(Event evt, CancellationToken cancellationToken)
        {
            _documents.Enqueue((ProcessDocument)evt.Body);
            return ValueTask.CompletedTask;
        }

        public async Task<ProcessDocument> WaitFor(Func<ProcessDocument, bool> match, Task run)
        {
            var deadline = DateTime.UtcNow + Wait;
            while (true)
            {
                foreach (var document in _documents)
                {
                    if (match(document))
                    {
                        return document;
                    }
                }

                if (run.IsCompleted)
                {
                    await run;
                }

                Assert.True(DateTime.UtcNow < deadline, "the expected document did not arrive");
                await Task.Delay(20);
            }
        }
    }
}
