using Shipper.Config;
using Shipper.Module.Config;
using Shipper.Module.Registry;
using Shipper.Tests.Support;
using Shipper.Worker;

namespace Shipper.Tests.Cmd.Config;

/// <summary><c>queue.disk.*</c> as a config file gives it, loaded and built the way <c>shipper test config</c> does.</summary>
public sealed class DiskQueueSettingsTests : IDisposable
{
    private const string Minimal = """
        shipper.modules:
          - module: system
            datasets: [process]
        output.console:
          enabled: true

        """;

    private readonly TempDirectory _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public void DefaultsAreLibbeatsAndTheDirectoryIsUnderPathData()
    {
        var (settings, worker) = Validate(Minimal + "queue.disk.max_size: 10GB\n");
        var disk = settings.DiskQueue!;
        Assert.Equal(Path.Combine(_data.Path, "diskqueue"), disk.Path);
        Assert.Equal(10_000_000_000, disk.MaxSize);
        Assert.Equal(1_000_000_000, disk.SegmentSize); // a tenth of max_size
        Assert.Equal(512, disk.ReadAhead);
        Assert.Equal(2048, disk.WriteAhead);
        Assert.Equal(TimeSpan.FromSeconds(1), disk.RetryInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), disk.MaxRetryInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), disk.FsyncInterval);
        Assert.Equal(4096, disk.FsyncEvents);
        Assert.Equal("disk", worker);
    }

    [Fact]
    public void EverySettingCanBeGiven()
    {
        var (settings, _) = Validate(Minimal + """
            queue.disk:
              path: relative/queue
              max_size: 100 MiB
              segment_size: 1MiB
              read_ahead: 64
              write_ahead: 128
              retry_interval: 250ms
              max_retry_interval: 5s
              fsync.interval: 0s
              fsync.events: 1

            """);
        Assert.Equal(new DiskQueueSettings(
            Path.GetFullPath("relative/queue"), 100 * 1024 * 1024, 1024 * 1024, 64, 128,
            TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5), TimeSpan.Zero, 1), settings.DiskQueue);
    }

    [Fact]
    public void WithoutQueueDiskTheMemoryQueueIsUsed()
    {
        var (settings, worker) = Validate(Minimal);
        Assert.Null(settings.DiskQueue);
        Assert.Equal("mem", worker);
    }

    [Theory]
    [InlineData("queue.disk: {}\n")]
    [InlineData("queue.disk.path: /var/lib/shipper/queue\n")]
    [InlineData("queue.disk.segment_size: 1MiB\n")]
    public void MaxSizeIsRequired(string yaml)
    {
        var error = ExpectError(Minimal + yaml);
        Assert.Equal("queue.disk.max_size", error.Path);
        Assert.Contains("queue.disk needs max_size", error.Message);
    }

    [Theory]
    [InlineData("queue.disk.max_size: 1000\n", "queue.disk.max_size")]
    [InlineData("queue.disk.max_size: lots\n", "queue.disk.max_size")]
    [InlineData("queue.disk.max_size: 10MiB\nqueue.disk.segment_size: 4095\n", "queue.disk.segment_size")]
    [InlineData("queue.disk.max_size: 10MiB\nqueue.disk.read_ahead: 0\n", "queue.disk.read_ahead")]
    [InlineData("queue.disk.max_size: 10MiB\nqueue.disk.max_sise: 20MiB\n", "queue.disk.max_sise")]
    public void ValuesOutOfRangeOrUnknownAreErrorsNamingTheSetting(string yaml, string path)
    {
        Assert.Equal(path, ExpectError(Minimal + yaml).Path);
    }

    [Fact]
    public void ASegmentLargerThanTheQueueIsAnError()
    {
        var error = ExpectError(Minimal + "queue.disk.max_size: 10MiB\nqueue.disk.segment_size: 20MiB\n");
        Assert.Equal("queue.disk.segment_size", error.Path);
        Assert.Contains("must not exceed max_size", error.Message);

        // Equal is fine: one segment may fill the queue.
        Assert.Equal(10 * 1024 * 1024, Validate(Minimal + "queue.disk.max_size: 10MiB\nqueue.disk.segment_size: 10MiB\n").Settings.DiskQueue!.SegmentSize);
    }

    [Fact]
    public void AMaximumRetryIntervalShorterThanTheFirstIsAnError()
    {
        var error = ExpectError(Minimal + "queue.disk.max_size: 10MiB\nqueue.disk.retry_interval: 10s\nqueue.disk.max_retry_interval: 5s\n");
        Assert.Equal("queue.disk.max_retry_interval", error.Path);
        Assert.Contains("must not be shorter than retry_interval", error.Message);
    }

    [Fact]
    public void TheMemoryQueueAndTheDiskQueueTogetherAreAnError()
    {
        var error = ExpectError(Minimal + "queue.mem.events: 4096\nqueue.disk.max_size: 10MiB\n");
        Assert.Equal("queue.disk", error.Path);
        Assert.Contains("queue.mem and queue.disk are both set", error.Message);
    }

    [Fact]
    public void CheckingTheConfigCreatesNoQueueDirectory()
    {
        var explicitPath = _data.Combine("elsewhere/queue");
        Validate(Minimal + "queue.disk.max_size: 10MiB\n");
        Validate(Minimal + $"queue.disk.max_size: 10MiB\nqueue.disk.path: {explicitPath}\n");
        Assert.False(Directory.Exists(Path.Combine(_data.Path, "diskqueue")));
        Assert.False(Directory.Exists(_data.Combine("elsewhere")));
    }

    /// <summary>Loads and builds the worker without running it, as <c>shipper test config</c> does; returns its queue type.</summary>
    private (ShipperSettings Settings, string QueueType) Validate(string yaml)
    {
        using var config = new TempConfig(yaml);
        var settings = ConfigLoader.Load(config.Path, true, Array.Empty<string>(), new PathSettings("", "", _data.Path, ""), strictPerms: true);
        var worker = ShipperWorker.Build(settings, new WorkerOptions { ForRun = false }, BuiltInDatasets.Create());
        var type = worker.Pipeline.Queue.Type;
        worker.DisposeAsync().AsTask().Wait();
        return (settings, type);
    }

    private ConfigException ExpectError(string yaml) => Assert.Throws<ConfigException>(() => Validate(yaml));
}
