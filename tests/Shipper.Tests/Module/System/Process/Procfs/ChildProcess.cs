using global::System.Diagnostics;

namespace Shipper.Tests.Module.System.Process.Procfs;

/// <summary>A real child process for tests; killed (if still running) and reaped on dispose.</summary>
public sealed class ChildProcess : IDisposable
{
    private readonly global::System.Diagnostics.Process _process;

    private ChildProcess(global::System.Diagnostics.Process process) => _process = process;

    public int Pid => _process.Id;

    public global::System.Diagnostics.Process Process => _process;

    public static ChildProcess Start(string file, params string[] args) => Start(file, redirectOutput: false, args);

    public static ChildProcess Start(string file, bool redirectOutput, params string[] args)
    {
        var info = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = redirectOutput,
            RedirectStandardInput = redirectOutput,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return new ChildProcess(global::System.Diagnostics.Process.Start(info)
            ?? throw new InvalidOperationException($"could not start {file}"));
    }

    public string ReadLine() => _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("child closed stdout");

    public void Kill()
    {
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Kills a process this test started indirectly (a grandchild), if it still runs.</summary>
    public static void KillPid(int pid)
    {
        try
        {
            using var process = global::System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
        }
    }

    public void Dispose()
    {
        Kill();
        _process.WaitForExit(5000);
        _process.Dispose();
    }
}
