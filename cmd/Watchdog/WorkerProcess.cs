using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Shipper.Watchdog;

/// <summary>
/// One running worker: the child process, a pidfd so that signals can never reach a recycled pid, and a
/// thread that forwards the worker's stderr line by line.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly ManualResetEvent _exited = new(false);
    private readonly Thread _stderrPump;
    private int _pidfd = -1;

    private WorkerProcess(Process process, Action<string> forwardLine)
    {
        _process = process;
        _process.EnableRaisingEvents = true;
        _process.Exited += (_, _) => OnExited();
        _stderrPump = new Thread(() => Pump(forwardLine)) { IsBackground = true, Name = "watcher-worker-stderr" };
    }

    public int Pid { get; private set; }

    public WaitHandle Exited => _exited;

    public bool HasExited => _exited.WaitOne(0);

    public int ExitCode => _process.ExitCode;

    /// <summary>The watcher's end of this worker's link (handover, heartbeats); disposed with the worker.</summary>
    public WorkerLink? Link { get; private set; }

    /// <summary>
    /// Starts the worker. Call this on a thread that lives as long as the worker: the worker's parent-death
    /// signal fires when the thread that forked it ends, not only when the whole watcher process does.
    /// </summary>
    /// <param name="link">The link the worker inherits (its end's number must be in <paramref name="environment"/>); owned from here on.</param>
    public static WorkerProcess Start(WorkerCommand command, IReadOnlyDictionary<string, string> environment, Action<string> forwardLine, WorkerLink? link = null)
    {
        var info = new ProcessStartInfo(command.FileName)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = false,
            RedirectStandardInput = false,
        };
        foreach (var argument in command.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var worker = new WorkerProcess(new Process { StartInfo = info }, forwardLine) { Link = link };
        worker._process.Start();
        worker.Pid = worker._process.Id;
        worker._pidfd = OpenPidfd(worker.Pid);
        worker._stderrPump.Start();
        return worker;
    }

    /// <summary>Sends a signal; false when the worker has already exited.</summary>
    public bool Signal(int signal)
    {
        if (HasExited)
        {
            return false;
        }

        if (_pidfd < 0)
        {
            return LibC.TrySignal(Pid, signal);
        }

        if (LibC.PidfdSendSignal(_pidfd, signal, 0, 0) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == LibC.ESRCH)
        {
            return false;
        }

        throw new IOException($"pidfd_send_signal(worker {Pid}, {signal}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    /// <summary>Waits (bounded) until the worker's last stderr lines are forwarded, so they come before our own report of its exit.</summary>
    public void DrainOutput(TimeSpan timeout) => _stderrPump.Join(timeout);

    public void Dispose()
    {
        Link?.Dispose();
        if (_pidfd >= 0)
        {
            LibC.Close(_pidfd);
            _pidfd = -1;
        }

        _process.Dispose();
        _exited.Dispose();
    }

    private void OnExited()
    {
        try
        {
            _exited.Set();
        }
        catch (ObjectDisposedException)
        {
            // Disposed after the watcher already saw the exit.
        }
    }

    private static int OpenPidfd(int pid)
    {
        try
        {
            // If the worker died and was reaped already, signals have nothing to reach: fall back to kill(2),
            // which HasExited guards.
            return LibC.PidfdOpen(pid, 0);
        }
        catch (EntryPointNotFoundException)
        {
            // glibc older than 2.36: kill(2) it is.
            return -1;
        }
    }

    private void Pump(Action<string> forwardLine)
    {
        try
        {
            var reader = _process.StandardError;
            while (reader.ReadLine() is { } line)
            {
                forwardLine(line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe closed under us: the worker is gone.
        }
    }
}
