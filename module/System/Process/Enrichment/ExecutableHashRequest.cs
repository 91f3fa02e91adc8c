namespace Shipper.Module.System.Process.Enrichment;

/// <summary>
/// One process's executable to hash. <see cref="MountNamespace"/> is the inode of <c>/proc/&lt;pid&gt;/ns/mnt</c>
/// as read with the event (0 when unknown); compare it with our own to decide whether <see cref="Executable"/>
/// names the same file in our namespace. <see cref="Pid"/> allows <c>/proc/&lt;pid&gt;/exe</c> while it lives.
/// </summary>
public readonly record struct ExecutableHashRequest(int Pid, string Executable, ulong MountNamespace);
