namespace Shipper.Tests.Module.System.Process.Netlink;

/// <summary>
/// Tests that hand one pid to two processes by writing <c>/proc/sys/kernel/ns_last_pid</c>: run alone, so no other
/// test's process takes the pid in between or sees its events mixed with another's.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PidReuseCollection
{
    public const string Name = "pid reuse";
}
