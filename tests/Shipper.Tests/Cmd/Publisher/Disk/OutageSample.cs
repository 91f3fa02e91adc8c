namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>One reading during an <see cref="OutageRun"/>: the worker's RSS and the queue's size, in bytes.</summary>
public sealed record OutageSample(TimeSpan At, long Rss, long QueueBytes, long Added);
