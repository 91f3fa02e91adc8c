namespace Shipper.Module.System.Process.Hashing;

/// <summary>One file version to hash on a worker, and everyone waiting for it.</summary>
internal sealed class HashJob
{
    private int _descriptor;

    /// <param name="identity">The file version that ran, as statx saw it through <c>/proc/&lt;pid&gt;/exe</c> at the exec.</param>
    /// <param name="executable">The path as the process reported it, for messages (and to open when <paramref name="byPath"/>).</param>
    /// <param name="pid">The process: its <c>/proc/&lt;pid&gt;/exe</c> is tried first while it lives.</param>
    /// <param name="byPath">Whether <paramref name="executable"/> names a file in our mount namespace that may be opened.</param>
    /// <param name="descriptor">A descriptor opened on that version at the exec, or -1; the job owns it.</param>
    public HashJob(FileIdentity identity, string executable, int pid, bool byPath, int descriptor)
    {
        Identity = identity;
        Executable = executable;
        Pid = pid;
        ByPath = byPath;
        _descriptor = descriptor;
    }

    public FileIdentity Identity { get; }

    public string Executable { get; }

    public int Pid { get; }

    public bool ByPath { get; }

    public TaskCompletionSource<HashOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Hands over the descriptor opened at the exec (the caller closes it), or -1 when there is none.</summary>
    public int TakeDescriptor() => Interlocked.Exchange(ref _descriptor, -1);

    /// <summary>Closes a descriptor nobody took (the hasher stopped before this job ran).</summary>
    public void CloseDescriptor()
    {
        var fd = TakeDescriptor();
        if (fd >= 0)
        {
            NativeFile.Close(fd);
        }
    }
}
