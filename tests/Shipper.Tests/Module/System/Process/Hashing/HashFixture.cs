using global::System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process.Enrichment;
using Shipper.Module.System.Process.Hashing;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Tests.Module.System.Process.Hashing;

/// <summary>A temp directory, hashers and processes for one test, all cleaned up afterwards.</summary>
internal sealed class HashFixture : IDisposable
{
    private readonly List<IDisposable> _owned = new();
    private readonly List<global::System.Diagnostics.Process> _processes = new();

    public HashFixture()
    {
        Directory = global::System.IO.Directory.CreateTempSubdirectory("shipper-hasher-").FullName;
    }

    public string Directory { get; }

    public FakeTimeProvider Time { get; } = new();

    public MetricsRegistry Metrics { get; } = new();

    public ExecutableHasher Hasher(HashSettings settings, TimeProvider? time = null, ulong? ownMountNamespace = null, int maxHeldDescriptors = ExecutableHasher.MaxHeldDescriptors)
    {
        var hasher = new ExecutableHasher(settings, Metrics, time ?? Time, Logger.Null, ownMountNamespace, maxHeldDescriptors: maxHeldDescriptors);
        _owned.Add(hasher);
        return hasher;
    }

    /// <summary>
    /// The request for a running process, from what the event source reads at its exec: a real
    /// <see cref="ProcReader"/> sample (executable, mount namespace, and the statx of /proc/&lt;pid&gt;/exe).
    /// </summary>
    public static ExecutableHashRequest OfProcess(int pid)
    {
        using var reader = new ProcReader();
        var sample = reader.Read(pid);
        Assert.True(sample.ExecutableIdentity is not null, $"PID {pid} is gone: {string.Join("; ", sample.Errors ?? [])}");
        return ExecutableHashRequest.ForSample(sample)!.Value;
    }

    /// <summary>
    /// The request for a process that ran <paramref name="path"/> as it is now (its identity taken by statx now),
    /// in our mount namespace, with no live pid to read through unless <paramref name="pid"/> is given.
    /// </summary>
    public static ExecutableHashRequest OfFile(string path, int pid = 0, ulong? mountNamespace = null) =>
        new(pid, path, mountNamespace ?? MountNamespace.OfSelf(), FileIdentity.Of(path));

    /// <summary>
    /// Runs <paramref name="binary"/> (no arguments) to its exit; returns it and the request for it, identified by
    /// the file as it is afterwards (as if the event source had read it at the exec).
    /// </summary>
    public async Task<(global::System.Diagnostics.Process Process, ExecutableHashRequest Request)> RunToExit(string binary)
    {
        var process = Start(binary);
        await Exited(process);
        return (process, OfFile(binary, process.Id));
    }

    /// <summary>Waits (in real time) until the process has exited and been reaped.</summary>
    public static async Task Exited(global::System.Diagnostics.Process process)
    {
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>A copy of <paramref name="source"/> made unique by appended bytes (an ELF file still runs with them).</summary>
    public string UniqueCopyOf(string source, string name, string marker)
    {
        var path = CopyOf(source, name);
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write);
        stream.Write(global::System.Text.Encoding.UTF8.GetBytes(marker));
        return path;
    }

    public string Path(string name) => global::System.IO.Path.Combine(Directory, name);

    public string Write(string name, int size, int seed)
    {
        var content = new byte[size];
        new Random(seed).NextBytes(content);
        var path = Path(name);
        File.WriteAllBytes(path, content);
        return path;
    }

    public string CopyOf(string source, string name)
    {
        var path = Path(name);
        File.Copy(source, path, overwrite: true);
        return path;
    }

    /// <summary>Starts a real process; .NET returns once its exec has succeeded.</summary>
    public global::System.Diagnostics.Process Start(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = global::System.Diagnostics.Process.Start(start)!;
        _processes.Add(process);
        return process;
    }

    public long Counter(string name)
    {
        foreach (var metric in Metrics.Snapshot())
        {
            if (metric.Name == name)
            {
                return metric.Number;
            }
        }

        throw new InvalidOperationException($"no metric {name}");
    }

    /// <summary>Advances fake time in small steps until <paramref name="task"/> completes (30 s of real time at most).</summary>
    public async Task<T> AdvanceUntil<T>(Task<T> task, TimeSpan step)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!task.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < deadline, "the hash never completed");
            Time.Advance(step);
            await Task.Delay(5);
        }

        return await task;
    }

    public async Task AdvanceUntil(Func<bool> condition, TimeSpan step)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition never became true");
            Time.Advance(step);
            await Task.Delay(5);
        }
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        global::System.IO.Directory.Delete(Directory, recursive: true);
    }
}
