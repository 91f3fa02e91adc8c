namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// The disk queue's end-to-end tests run alone, after the rest of the suite and one after another. Each shipper's
/// process dataset reports every process on the machine: another test's fork storm can overflow its netlink socket
/// (markers never reported, which looks like a loss of the queue) and load the machine enough to blur the RSS
/// measurement, while these tests' hundreds of processes a second would in turn disturb the other kernel tests
/// and fill each other's queues (one full run with them in parallel failed both the outage test and
/// NetlinkProcEventSourceTests' socket overflow test).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DiskQueueEndToEndCollection
{
    public const string Name = "disk queue end-to-end";
}
