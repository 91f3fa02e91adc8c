namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// The disk queue's end-to-end tests run one after another: each shipper's process dataset reports every process
/// on the machine, so one test's thousands of marked processes would fill (and slow the delivery of) the
/// other's queue. They still run beside the rest of the suite.
/// </summary>
[CollectionDefinition(Name)]
public sealed class DiskQueueEndToEndCollection
{
    public const string Name = "disk queue end-to-end";
}
