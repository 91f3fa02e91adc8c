using global::System.Collections.Concurrent;
using global::System.Text.Json;
using global::System.Threading.Channels;
using Shipper.Module.Logging;
using Shipper.Module.Registry;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Enrichment;
using Shipper.Module.System.Process.Hashing;
using Shipper.Module.System.Process.Tracking;
using Shipper.Module.System.Process.Users;
using static Shipper.Tests.Module.System.Process.ProcessFixtures;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Hashing;

/// <summary>The hasher behind the tracker's <see cref="IExecutableHashSource"/> seam, inside the real enrichment stage.</summary>
public sealed class ExecutableHashSourceTests : IAsyncLifetime
{
    private const long MiB = 1 << 20;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly HashFixture _fixture = new();
    private readonly Channel<ProcessReport> _reports = Channel.CreateUnbounded<ProcessReport>();
    private readonly CollectingReporter _reporter = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;

    [Fact]
    public async Task DocumentsCarryTheDigestsInConfiguredOrder()
    {
        var binary = _fixture.CopyOf("/usr/bin/true", "true-copy");
        Start(new HashSettings([HashType.Sha256, HashType.Md5, HashType.Blake2b_256], scanRatePerSec: 0));

        Write(10, binary);
        Write(11, binary);
        await Eventually.True(() => _reporter.Events.Count == 2, Wait);

        var documents = _reporter.Documents();
        foreach (var document in documents)
        {
            Assert.Equal(["sha256", "md5", "blake2b_256"], document.Hashes!.Select(h => h.Type));
            Assert.Equal(ExternalTool.Digest("sha256sum", binary), document.Hashes![0].Hex);
            Assert.Equal(ExternalTool.Digest("md5sum", binary), document.Hashes![1].Hex);
            Assert.Equal(ExternalTool.Digest("b2sum", "-l", "256", binary), document.Hashes![2].Hex);
            Assert.Null(document.ErrorMessage);
        }

        using var json = JsonDocument.Parse(Json(documents[0]));
        var hash = json.RootElement.GetProperty("process").GetProperty("hash");
        Assert.Equal(ExternalTool.Digest("sha256sum", binary), hash.GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task ACacheHitAnswersSynchronouslyWithASharedResult()
    {
        var binary = _fixture.CopyOf("/usr/bin/true", "true-copy");
        using var hasher = new ExecutableHasher(new HashSettings([HashType.Sha1]), _fixture.Metrics, _fixture.Time, Logger.Null);
        var source = new ExecutableHashSource(hasher, Logger.Null);
        var request = HashFixture.OfFile(binary, 1);

        var first = await source.HashAsync(request, CancellationToken.None).AsTask().WaitAsync(Wait);
        var second = source.HashAsync(request, CancellationToken.None);

        Assert.True(second.IsCompletedSuccessfully);
        Assert.Same(first, await second);
        Assert.Equal(new ExecutableDigest("sha1", ExternalTool.Digest("sha1sum", binary)), Assert.Single(first.Digests));
    }

    [Fact]
    public async Task AnotherNamespaceIsNotAnErrorAndATooLargeFileIs()
    {
        var big = _fixture.Write("big", 2 * 1024 * 1024, seed: 1);
        using var hasher = new ExecutableHasher(new HashSettings([HashType.Sha1], maxFileSize: MiB), _fixture.Metrics, _fixture.Time, Logger.Null);
        var source = new ExecutableHashSource(hasher, Logger.Null);

        var foreign = await source.HashAsync(HashFixture.OfFile(big, 1, hasher.OwnMountNamespace + 1), CancellationToken.None);
        var tooLarge = await source.HashAsync(HashFixture.OfFile(big, 1), CancellationToken.None);

        Assert.Same(ExecutableHashResult.None, foreign);
        Assert.Empty(tooLarge.Digests);
        Assert.Equal($"executable {big} is 2 MiB, over process.hash.max_file_size 1 MiB: not hashed", tooLarge.Error);
    }

    [Fact]
    public async Task ADocumentWaitsAtMostMaxWaitAndTheLateHashFillsTheCacheForTheNextOne()
    {
        // The bucket is emptied by the first file, so the second needs 4 s at 1 MiB/s while max_wait is 1 s.
        var first = _fixture.Write("first", 4 * 1024 * 1024, seed: 2);
        var slow = _fixture.Write("slow", 4 * 1024 * 1024, seed: 3);
        var hasher = Start(new HashSettings([HashType.Sha1], maxFileSize: 4 * MiB, scanRatePerSec: MiB, maxWait: TimeSpan.FromSeconds(1)));
        Write(1, first);
        await Eventually.True(() => _reporter.Events.Count == 1, Wait);

        Write(2, slow);
        await _fixture.AdvanceUntil(() => _reporter.Events.Count == 2, TimeSpan.FromMilliseconds(100));
        var late = _reporter.Documents()[1];
        Assert.Null(late.Hashes);
        Assert.Equal($"hash of {slow} not ready within 1000 ms", late.ErrorMessage);
        Assert.Equal(1, _fixture.Counter("process.hash.timeouts"));

        await _fixture.AdvanceUntil(() => hasher.CachedCount == 2, TimeSpan.FromMilliseconds(100));
        Write(3, slow);
        await Eventually.True(() => _reporter.Events.Count == 3, Wait);
        Assert.Equal(ExternalTool.Digest("sha1sum", slow), Assert.Single(_reporter.Documents()[2].Hashes!).Hex);
        Assert.Equal(1, _fixture.Counter("process.hash.timeouts"));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // xunit 2 honours IAsyncLifetime on test classes, not IAsyncDisposable.
    public async Task DisposeAsync()
    {
        _stop.Cancel();
        if (_run is not null)
        {
            try
            {
                await _run.WaitAsync(Wait);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
        _fixture.Dispose();
    }

    private ExecutableHasher Start(HashSettings settings)
    {
        var hasher = _fixture.Hasher(settings);
        var metrics = new ProcessMetrics(_fixture.Metrics);
        var mapper = new ProcessDocumentMapper("host", new StartTimeClock(0, 100), new UserDirectory(_fixture.Time, "/nonexistent", "/nonexistent"));
        var stage = new EnrichmentStage(_reports.Reader, mapper, new ExecutableHashSource(hasher, Logger.Null), _reporter, _fixture.Time, metrics, _fixture.Metrics, window: 16);
        _run = Task.Run(() => stage.RunAsync(_stop.Token));
        return hasher;
    }

    private void Write(int pid, string exe)
    {
        // What the event source read at the exec: the path, and statx of the file that ran.
        var sample = Sample(pid, 1, 10, "x", exe: exe);
        sample.MountNamespace = MountNamespace.OfSelf();
        sample.ExecutableIdentity = HashFixture.OfFile(exe).Identity;
        Assert.True(_reports.Writer.TryWrite(new ProcessReport
        {
            Events = ProcessEvents.Exec,
            Timestamp = DateTime.UtcNow,
            Facts = ProcessFacts.FromSample(sample),
        }));
    }

    private static string Json(ProcessDocument document)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            document.WriteFields(writer);
            writer.WriteEndObject();
        }

        return global::System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
