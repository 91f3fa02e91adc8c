namespace Shipper.Module.System.Process.Hashing;

/// <summary>One file to hash on a worker, and everyone waiting for it.</summary>
internal sealed class HashJob
{
    public HashJob(HashCacheKey key, FileIdentity identity, string openPath, string executable, int pid, bool throughProc)
    {
        Key = key;
        Identity = identity;
        OpenPath = openPath;
        Executable = executable;
        Pid = pid;
        ThroughProc = throughProc;
    }

    public HashCacheKey Key { get; }

    /// <summary>What statx said when the job was queued; in-flight requests are shared only for the same version.</summary>
    public FileIdentity Identity { get; }

    /// <summary>The path opened: the executable's own path or /proc/&lt;pid&gt;/exe.</summary>
    public string OpenPath { get; }

    /// <summary>The path as the process reported it, for messages.</summary>
    public string Executable { get; }

    public int Pid { get; }

    public bool ThroughProc { get; }

    public TaskCompletionSource<HashOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
