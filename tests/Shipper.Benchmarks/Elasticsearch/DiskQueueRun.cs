namespace Shipper.Benchmarks.Elasticsearch;

/// <summary>What one run of the disk queue benchmark measured, over its measured events only.</summary>
/// <param name="Seconds">Wall time from the first event published to the last acknowledged.</param>
/// <param name="Cpu">User + system CPU seconds of this process (the shipper's side).</param>
/// <param name="SysCpu">The system (kernel) part of <paramref name="Cpu"/>: write, read, fsync, unlink, sockets.</param>
/// <param name="Allocated">Bytes allocated by this process.</param>
/// <param name="ServerCpu">CPU seconds of the loopback Elasticsearch (0 without it).</param>
/// <param name="Batches">Batches the output was handed.</param>
/// <param name="Fsyncs">fsync calls of the disk queue.</param>
/// <param name="Blocked">Times the producer found the queue full and waited.</param>
/// <param name="Runtime">Thread-pool work items and collections.</param>
public sealed record DiskQueueRun(
    double Seconds,
    double Cpu,
    double SysCpu,
    long Allocated,
    double ServerCpu,
    long Batches,
    long Fsyncs,
    long Blocked,
    RuntimeCounts Runtime);
