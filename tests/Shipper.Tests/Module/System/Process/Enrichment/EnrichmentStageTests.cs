using global::System.Collections.Concurrent;
using global::System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Enrichment;
using Shipper.Module.System.Process.Hashing;
using Shipper.Module.System.Process.Tracking;
using Shipper.Module.System.Process.Users;
using static Shipper.Tests.Module.System.Process.ProcessFixtures;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Enrichment;

public sealed class EnrichmentStageTests : IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();
    private readonly Channel<ProcessReport> _reports = Channel.CreateUnbounded<ProcessReport>();
    private readonly CollectingReporter _reporter = new();
    private readonly ManualHashes _hashes = new(TimeSpan.FromSeconds(1));
    private readonly MetricsRegistry _registry;
    private readonly EnrichmentStage _stage;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public EnrichmentStageTests()
    {
        var metrics = Metrics(out _registry);
        var mapper = new ProcessDocumentMapper("host", new StartTimeClock(0, 100), new UserDirectory(_time, "/nonexistent", "/nonexistent"));
        _stage = new EnrichmentStage(_reports.Reader, mapper, _hashes, _reporter, _time, metrics, _registry, window: 16);
        _run = Task.Run(() => _stage.RunAsync(_stop.Token));
    }

    [Fact]
    public async Task PublishesInOrderWithHashesThatArriveInTime()
    {
        Write(1, "/usr/bin/a");
        Write(2, "/usr/bin/b");
        Write(3, "relative-not-hashed");
        await Eventually.True(() => _hashes.Requests.Count == 2, Wait);

        // b's hash is ready before a's: nothing is published out of order.
        _hashes.Complete("/usr/bin/b", "bbbb");
        await Task.Delay(50);
        Assert.Empty(_reporter.Events);

        _hashes.Complete("/usr/bin/a", "aaaa");
        await Eventually.True(() => _reporter.Events.Count == 3, Wait);
        var documents = _reporter.Documents();
        Assert.Equal(new[] { 1, 2, 3 }, documents.Select(d => d.Pid));
        Assert.Equal("aaaa", Assert.Single(documents[0].Hashes!).Hex);
        Assert.Equal("bbbb", Assert.Single(documents[1].Hashes!).Hex);
        Assert.Null(documents[2].Hashes);
        Assert.Equal(new ExecutableHashRequest(1, "/usr/bin/a", 4026531841, IdentityOf(1)), _hashes.Requests.First(r => r.Pid == 1));
    }

    [Fact]
    public async Task ADocumentWaitsAtMostMaxWaitThenGoesWithoutItsHash()
    {
        Write(1, "/usr/bin/slow");
        await Eventually.True(() => _hashes.Requests.Count == 1, Wait);
        await Task.Delay(50);
        Assert.Empty(_reporter.Events);

        _time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => _reporter.Events.Count == 1, Wait);
        var document = Assert.Single(_reporter.Documents());
        Assert.Null(document.Hashes);
        Assert.Equal("hash of /usr/bin/slow not ready within 1000 ms", document.ErrorMessage);
        Assert.Equal(1, Value(_registry, "process.hash.timeouts"));
        Assert.Equal(1, Value(_registry, "process.enrichment.failures.hash_timeout"));

        // The late result is dropped, and the next document is not held up by the stale request.
        _hashes.Complete("/usr/bin/slow", "late");
        Write(2, "/usr/bin/fast");
        await Eventually.True(() => _hashes.Requests.Count == 2, Wait);
        _hashes.Complete("/usr/bin/fast", "ffff");
        await Eventually.True(() => _reporter.Events.Count == 2, Wait);
        Assert.Null(_reporter.Documents()[0].Hashes);
    }

    [Fact]
    public async Task HashErrorsGoIntoErrorMessage()
    {
        Write(1, "/usr/bin/big");
        await Eventually.True(() => _hashes.Requests.Count == 1, Wait);
        _hashes.Fail("/usr/bin/big", "file is larger than max_file_size (104857600 bytes)");
        await Eventually.True(() => _reporter.Events.Count == 1, Wait);
        var document = Assert.Single(_reporter.Documents());
        Assert.Equal("ERROR for PID 1: file is larger than max_file_size (104857600 bytes)", document.Message);
        Assert.Equal(1, Value(_registry, "process.enrichment.failures.hash_error"));
    }

    [Fact]
    public async Task CompletingTheReportsPublishesTheRestAndEnds()
    {
        Write(1, "relative");
        _reports.Writer.Complete();
        await _run.WaitAsync(Wait);
        Assert.Single(_reporter.Events);
        Assert.Equal(1, Value(_registry, "process.documents"));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            await _run.WaitAsync(Wait);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private void Write(int pid, string exe)
    {
        var sample = Sample(pid, 1, 10, "x", exe: exe);
        sample.ExecutableIdentity = IdentityOf(pid);
        Assert.True(_reports.Writer.TryWrite(new ProcessReport
        {
            Events = ProcessEvents.Exec,
            Timestamp = DateTime.UtcNow,
            Facts = ProcessFacts.FromSample(sample),
        }));
    }

    /// <summary>A made-up statx identity per process, to see it handed to the hasher with the request.</summary>
    private static FileIdentity IdentityOf(int pid) => new(2049, 1000 + (ulong)pid, 4096, 0x81ed, 0, 0, 1, 1_700_000_000, 0, 1_700_000_000, 0);

    /// <summary>A hash source whose answers the test gives, per path.</summary>
    private sealed class ManualHashes : IExecutableHashSource
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource<ExecutableHashResult>> _pending = new();

        public ManualHashes(TimeSpan maxWait) => MaxWait = maxWait;

        public TimeSpan MaxWait { get; }

        public ConcurrentQueue<ExecutableHashRequest> Requests { get; } = new();

        public ValueTask<ExecutableHashResult> HashAsync(ExecutableHashRequest request, CancellationToken cancellationToken)
        {
            Requests.Enqueue(request);
            return new ValueTask<ExecutableHashResult>(Pending(request.Executable).Task);
        }

        /// <summary>The stage never calls this (the event source does), as with the real hasher.</summary>
        public void HashAtExec(ExecutableHashRequest request) => throw new InvalidOperationException("the enrichment stage must not start hashes at the exec");

        public void Complete(string path, string hex) =>
            Pending(path).SetResult(new ExecutableHashResult(new[] { new ExecutableDigest("sha1", hex) }, null));

        public void Fail(string path, string error) => Pending(path).SetResult(ExecutableHashResult.Failed(error));

        private TaskCompletionSource<ExecutableHashResult> Pending(string path) =>
            _pending.GetOrAdd(path, _ => new TaskCompletionSource<ExecutableHashResult>(TaskCreationOptions.RunContinuationsAsynchronously));
    }
}
