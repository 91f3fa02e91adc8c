namespace Shipper.Watchdog;

/// <summary>One reading of a process's cumulative CPU time (user + system) and resident memory.</summary>
public readonly record struct ProcessUsage(TimeSpan CpuTime, long ResidentBytes);
