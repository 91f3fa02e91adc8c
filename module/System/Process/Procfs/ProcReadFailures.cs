namespace Shipper.Module.System.Process.Procfs;

/// <summary>Which parts of <c>/proc/&lt;pid&gt;</c> a <see cref="ProcReader"/> could not read, for per-kind metrics.</summary>
[Flags]
public enum ProcReadFailures
{
    None = 0,
    Cmdline = 1 << 0,
    Exe = 1 << 1,
    Stat = 1 << 2,
    Status = 1 << 3,
    Cwd = 1 << 4,
    Namespace = 1 << 5,

    /// <summary>Not a kind: set when the process was already gone (or a zombie) when it was read.</summary>
    Exited = 1 << 6,

    AllKinds = Cmdline | Exe | Stat | Status | Cwd | Namespace,
}
