namespace Shipper.Module.System.Process.Ebpf;

/// <summary>The eBPF backend cannot run here; the message says why (for <c>process.backend: auto</c>'s log).</summary>
public sealed class EbpfException : Exception
{
    public EbpfException(string message, int errno = 0)
        : base(message)
    {
        Errno = errno;
    }

    /// <summary>The errno behind the failure, 0 when none.</summary>
    public int Errno { get; }
}
