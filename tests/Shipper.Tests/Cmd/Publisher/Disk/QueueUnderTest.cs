using Shipper.Config;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Publisher.Disk;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// A real <see cref="DiskQueue"/> on a real directory, opened, with its metrics and log kept for assertions.
/// Events are <see cref="TestDocuments"/> processes, whose document carries their number (<c>e-N</c>).
/// </summary>
public sealed class QueueUnderTest : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private bool _disposed;

    public QueueUnderTest(DiskQueueSettings settings, TimeProvider? time = null)
    {
        Queue = new DiskQueue(settings, TestDocuments.Writer, Metrics, new Logger(Log, "diskqueue"), time ?? TimeProvider.System);
        Queue.Open();
    }

    public DiskQueue Queue { get; }

    public MetricsRegistry Metrics { get; } = new();

    public CollectingLogSink Log { get; } = new();

    /// <summary>Settings as <c>queue.disk</c> would give them, small enough for tests to fill and roll.</summary>
    public static DiskQueueSettings Settings(string path, long maxSize = 64L * 1024 * 1024, long segmentSize = 4096, int readAhead = 512, int writeAhead = 2048) =>
        new(path, maxSize, segmentSize, readAhead, writeAhead, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), 4096);

    /// <summary>The number a queued event's document carries.</summary>
    public static int NumberOf(Event evt) => TestDocuments.SequenceOf(DocumentOf(evt));

    /// <summary>The document as the output would write it: for an event read back, the stored JSON.</summary>
    public static string DocumentOf(Event evt) => evt.Body is EncodedDocument encoded
        ? System.Text.Encoding.UTF8.GetString(encoded.Json.Span)
        : TestDocuments.Expected(evt);

    public long Metric(string name) => Metrics.Snapshot().Single(m => m.Name == name).Number;

    public async Task AddAsync(IEnumerable<int> numbers)
    {
        foreach (var number in numbers)
        {
            await Queue.AddAsync(TestDocuments.Process(number), CancellationToken.None);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> events, failing the test when they do not come.</summary>
    public async Task<List<Event>> ReadAsync(int count)
    {
        var events = new List<Event>(count);
        using var timeout = new CancellationTokenSource(Patience);
        while (events.Count < count)
        {
            events.Add(await Queue.Reader.ReadAsync(timeout.Token));
        }

        return events;
    }

    /// <summary>Closes adding and reads everything the queue holds, until its reader ends.</summary>
    public async Task<List<Event>> DrainAsync()
    {
        Assert.Equal(0, await Queue.CloseAddingAsync(Patience));
        var events = new List<Event>();
        using var timeout = new CancellationTokenSource(Patience);
        await foreach (var evt in Queue.Reader.ReadAllAsync(timeout.Token))
        {
            events.Add(evt);
        }

        return events;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await Queue.DisposeAsync();
        }
    }
}
