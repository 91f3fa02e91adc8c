namespace Shipper.Watchdog;

public enum WorkerStopKind
{
    Memory,
    Cpu,
}
