namespace Shipper.Module.System.Process;

/// <summary>The proc connector's <c>enum what</c> values (linux/cn_proc.h), plus our own synthetic kinds.</summary>
public enum ProcEventType : uint
{
    None = 0,
    Fork = 0x1,
    Exec = 0x2,
    Uid = 0x4,
    Ptrace = 0x100,
    Gid = 0x40,
    Sid = 0x80,
    Comm = 0x200,
    Coredump = 0x40000000,
    Exit = 0x80000000,
}
