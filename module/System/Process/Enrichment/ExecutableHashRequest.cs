using Shipper.Module.System.Process.Hashing;

namespace Shipper.Module.System.Process.Enrichment;

/// <summary>
/// One process's executable to hash. <see cref="Identity"/> is what statx said of <c>/proc/&lt;pid&gt;/exe</c> at the
/// exec (<see cref="ProcessSample.ExecutableIdentity"/>): only digests of that file version are ever returned.
/// <see cref="MountNamespace"/> is the inode of <c>/proc/&lt;pid&gt;/ns/mnt</c> as read with the event (0 when
/// unknown); compare it with our own to decide whether <see cref="Executable"/> names the same file in our
/// namespace. <see cref="Pid"/> allows <c>/proc/&lt;pid&gt;/exe</c> while it lives.
/// </summary>
public readonly record struct ExecutableHashRequest(int Pid, string Executable, ulong MountNamespace, FileIdentity? Identity)
{
    /// <summary>The request for the process a just-read exec sample describes; null when it has no executable.</summary>
    public static ExecutableHashRequest? ForSample(ProcessSample sample) =>
        sample.Executable is { Length: > 0 } executable
            ? new ExecutableHashRequest(sample.Pid, executable, sample.MountNamespace, sample.ExecutableIdentity)
            : null;
}
