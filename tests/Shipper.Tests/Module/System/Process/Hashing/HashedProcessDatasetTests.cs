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
        await RunDatasetAsync(["sha1", "sha256"], async (reporter, run, source) =>
        {
            // The snapshot reports this test process, with the hash of the running dotnet host.
            var self = await reporter.WaitFor(d => d.Pid == Environment.ProcessId, run);
            var host = new FileInfo("/proc/self/exe").LinkTarget!;
            Assert.Null(self.ErrorMessage);
            Assert.Equal(ExternalTool.Digest("sha256sum", host), Digest(self, "sha256"));

            var process = _fixture.Start(binary, "0.3");
            await process.WaitForExitAsync();
            var document = await reporter.WaitFor(d => d.Pid == process.Id && d.Hashes is { Count: > 0 }, run);

            Assert.Equal(binary, document.Executable);
            Assert.Equal(ExternalTool.Digest("sha1sum", binary), Digest(document, "sha1"));
            Assert.Equal(ExternalTool.Digest("sha256sum", binary), Digest(document, "sha256"));
            Assert.True(source.HasherStarted);
        });
    }

    /// <summary>
    /// The ways a file can stop being the one that ran, each against the real kernel and the whole dataset: the
    /// document carries the digest of what ran, or no digest and the "changed after the exec" error, never the
    /// digest of what replaced it.
    /// </summary>
    [KernelFact]
    public async Task DocumentsCarryTheDigestOfTheFileThatRanNeverOfItsReplacement()
    {
        await RunDatasetAsync(["sha256"], async (reporter, run, _) =>
        {
            await reporter.WaitFor(d => d.Pid == Environment.ProcessId, run);

            // A short process, and right after it exits its file is replaced by rename (five tries).
            for (var attempt = 0; attempt < 5; attempt++)
            {
                var (binary, ran) = Unique($"renamed-after-exit-{attempt}", "ran");
                var process = _fixture.Start(binary, "0.05");
                await HashFixture.Exited(process);
                var (replacement, replacementDigest) = Unique($"renamed-after-exit-{attempt}.new", "replacement");
                File.Move(replacement, binary, overwrite: true);
                AssertRanOrChanged(await reporter.WaitFor(d => d.Pid == process.Id && d.Executable == binary, run), ran, replacementDigest);
            }

            // A short process whose file is rewritten in place 0.3 s after it exits.
            {
                var (binary, ran) = Unique("rewritten-after-exit", "ran");
                var process = _fixture.Start(binary, "0.05");
                await HashFixture.Exited(process);
                await Task.Delay(300);
                await File.AppendAllTextAsync(binary, "rewritten");
                var rewritten = ExternalTool.Digest("sha256sum", binary);
                AssertRanOrChanged(await reporter.WaitFor(d => d.Pid == process.Id && d.Executable == binary, run), ran, rewritten);
            }

            // Running processes whose files are replaced by rename, and deleted: the digest of what runs.
            var (replaced, replacedRan) = Unique("replaced-while-running", "ran");
            var (deleted, deletedRan) = Unique("deleted-while-running", "ran");
            var one = _fixture.Start(replaced, "1.5");
            var two = _fixture.Start(deleted, "1.5");
            await Task.Delay(300);
            var (newer, newerDigest) = Unique("replaced-while-running.new", "replacement");
            File.Move(newer, replaced, overwrite: true);
            File.Delete(deleted);
            await HashFixture.Exited(one);
            await HashFixture.Exited(two);
            var oneDocument = await reporter.WaitFor(d => d.Pid == one.Id && d.End is not null, run);
            var twoDocument = await reporter.WaitFor(d => d.Pid == two.Id && d.End is not null, run);
            foreach (var document in reporter.All(d => d.Pid == one.Id || d.Pid == two.Id))
            {
                Assert.NotEqual(newerDigest, Digest(document, "sha256"));
            }

            Assert.Equal(replacedRan, Digest(oneDocument, "sha256"));
            Assert.Equal(deletedRan, Digest(twoDocument, "sha256"));
            Assert.Null(oneDocument.ErrorMessage);
            Assert.Null(twoDocument.ErrorMessage);
        });
    }

    /// <summary>Runs the real process dataset (netlink, hashes of <paramref name="hashTypes"/>) around <paramref name="body"/>.</summary>
    private static async Task RunDatasetAsync(string[] hashTypes, Func<Collector, Task, ExecutableHashSource, Task> body)
    {
        // These tests are about which file's digest a document carries, not about max_wait: on a loaded CI machine
        // the hashes queued ahead of a document (the whole machine's snapshot and execs, at the scan rate) can take
        // more than the default 1 s, and the document then rightly goes out without its digest.
        var context = Context(
            ("process.backend", "netlink"), ("process.hash.hash_types", hashTypes), ("process.hash.max_wait", "20s"));
        var reporter = new Collector();
        using var source = ExecutableHashSource.Create(context)!;
        var dataset = new ProcessDataset(context) { Hashes = source };
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => dataset.RunAsync(reporter, stop.Token));
        try
        {
            await body(reporter, run, source);
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

    /// <summary>A copy of sleep made unique by a marker, and its digest.</summary>
    private (string Path, string Digest) Unique(string name, string marker)
    {
        var path = _fixture.UniqueCopyOf("/usr/bin/sleep", name, name + " " + marker);
        return (path, ExternalTool.Digest("sha256sum", path));
    }

    private static void AssertRanOrChanged(ProcessDocument document, string ran, string replacement)
    {
        var digest = Digest(document, "sha256");
        Assert.NotEqual(replacement, digest);
        if (digest is null)
        {
            Assert.Contains("changed after the exec", document.ErrorMessage);
        }
        else
        {
            Assert.Equal(ran, digest);
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

        public List<ProcessDocument> All(Func<ProcessDocument, bool> match) => _documents.Where(match).ToList();

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
