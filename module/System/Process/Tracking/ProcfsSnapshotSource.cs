using Shipper.Module.System.Process.Procfs;

namespace Shipper.Module.System.Process.Tracking;

/// <summary>
/// Scans <c>/proc</c> with the procfs readers: every listed pid read in full (as at an exec). Processes that
/// vanish between the listing and the read are left out. Used only from the tracker loop (the reader is not
/// thread-safe).
/// </summary>
public sealed class ProcfsSnapshotSource : IProcessSnapshotSource, IDisposable
{
    private readonly string _procRoot;
    private readonly ProcReader _reader;
    private readonly List<int> _pids = new(1024);

    public ProcfsSnapshotSource(string procRoot = "/proc", int maxArgsBytes = ProcReader.DefaultMaxArgsBytes)
    {
        _procRoot = procRoot;
        _reader = new ProcReader(procRoot, maxArgsBytes);
    }

    /// <summary>Throws <see cref="IOException"/> when /proc cannot be listed: an empty scan would look like every process exited.</summary>
    public IReadOnlyList<ProcessSample> Scan(CancellationToken cancellationToken)
    {
        if (!ProcScanner.ListProcesses(_procRoot, _pids, out var error))
        {
            throw new IOException(error);
        }

        var samples = new List<ProcessSample>(_pids.Count);
        foreach (var pid in _pids)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sample = _reader.Read(pid);
            if (sample.HasStat)
            {
                samples.Add(sample);
            }
        }

        return samples;
    }

    public void Dispose() => _reader.Dispose();
}
