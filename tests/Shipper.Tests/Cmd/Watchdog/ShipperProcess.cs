using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Watchdog;

/// <summary>
/// The real shipper binary (the build output beside the tests, or <see cref="ShipperWithTestHooks"/>) started
/// as its own process, its stderr captured line by line. Disposing kills whatever of it still runs, so a
/// failed test leaves no orphan.
/// </summary>
public sealed partial class ShipperProcess : IDisposable
{
    private readonly Process _process;

    private ShipperProcess(Process process, CapturedLog log, CapturedLog documents)
    {
        _process = process;
        Log = log;
        Documents = documents;
    }

    public CapturedLog Log { get; }

    /// <summary>Standard output: one NDJSON document a line with the console output.</summary>
    public CapturedLog Documents { get; }

    public int Pid => _process.Id;

    public int ExitCode => _process.ExitCode;

    /// <summary>The apphost (<c>shipper</c>, as installed) or <c>dotnet shipper.dll</c> (the dotnet host).</summary>
    /// <param name="output">Where every log line is echoed as it comes; null to only capture them (long runs).</param>
    /// <param name="directory">Where the binary is; the default build beside the tests when null.</param>
    public static ShipperProcess Start(string configPath, string home, ITestOutputHelper? output, IReadOnlyDictionary<string, string>? environment = null, bool viaDotnetHost = false, string? directory = null, params string[] extraArgs)
    {
        directory ??= AppContext.BaseDirectory;
        var info = viaDotnetHost
            ? new ProcessStartInfo(Shipper.Tests.Support.InChildProcess.DotnetHost()) { ArgumentList = { Path.Combine(directory, "shipper.dll") } }
            : new ProcessStartInfo(Path.Combine(directory, "shipper"));
        foreach (var argument in new[] { "run", "-e", "-c", configPath, "--path.home", home })
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var argument in extraArgs)
        {
            info.ArgumentList.Add(argument);
        }

        info.UseShellExecute = false;
        info.RedirectStandardError = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardInput = true;
        info.Environment.Remove("SHIPPER_WATCHDOG_WORKER");
        info.Environment.Remove("SHIPPER_WATCHDOG_STATE");
        info.Environment.Remove("SHIPPER_TEST_HOG");
        info.Environment.Remove("NOTIFY_SOCKET");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var log = new CapturedLog(output);
        var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.Add(e.Data);
            }
        };
        var documents = new CapturedLog();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                documents.Add(e.Data);
            }
        };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return new ShipperProcess(process, log, documents);
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        _process.WaitForExit(); // the last stderr lines
        return true;
    }

    public void Signal(int signal) => Assert.Equal(0, LibCForTests.Kill(Pid, signal));

    /// <summary>Pids of the workers the watcher reported starting, in order.</summary>
    public List<int> WorkerPids()
    {
        var pids = new List<int>();
        foreach (var line in Log.Lines)
        {
            var match = WorkerStarted().Match(line);
            if (match.Success)
            {
                pids.Add(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        }

        return pids;
    }

    /// <summary>Waits for the n-th (0-based) worker the watcher starts and returns its pid.</summary>
    public int WaitForWorker(int index, TimeSpan timeout)
    {
        var line = Log.WaitFor(l => WorkerStarted().IsMatch(l), "worker (…) started", timeout, skip: index);
        return int.Parse(WorkerStarted().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The timestamp the shipper's log writer put at the start of a line.</summary>
    public static DateTime TimeOf(string line) =>
        DateTime.Parse(line[..line.IndexOf('\t')], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    /// <summary>True when no such process runs (gone, or a zombie waiting for a reaper).</summary>
    public static bool IsGone(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return true;
        }
    }

    /// <summary>Polls until the process is gone; returns how long that took, or null on timeout.</summary>
    public static TimeSpan? WaitGone(int pid, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < timeout)
        {
            if (IsGone(pid))
            {
                return stopwatch.Elapsed;
            }

            Thread.Sleep(5);
        }

        return null;
    }

    /// <summary>The pids of this process's children (all threads).</summary>
    public static List<int> ChildrenOf(int pid)
    {
        var children = new List<int>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                foreach (var part in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    children.Add(int.Parse(part, CultureInfo.InvariantCulture));
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return children;
    }

    /// <summary>
    /// True when <paramref name="pid"/> is a live process (not merely a thread) whose parent is this watcher. The
    /// pids of workers that ended are soon handed to other processes (pid_max is 32768 here, and a test running
    /// hundreds of processes a second wraps it within minutes), or to a thread, whose id kill(2) also accepts and
    /// then kills the whole process the thread belongs to.
    /// </summary>
    public bool IsOurWorker(int pid)
    {
        try
        {
            var ppid = -1;
            var tgid = -1;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("Tgid:", StringComparison.Ordinal))
                {
                    tgid = int.Parse(line.AsSpan(5).Trim(), CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("PPid:", StringComparison.Ordinal))
                {
                    ppid = int.Parse(line.AsSpan(5).Trim(), CultureInfo.InvariantCulture);
                }
            }

            return tgid == pid && ppid == Pid && !IsGone(pid);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        // Only workers the watcher still has: killing every pid the log ever named once killed another test's process.
        foreach (var pid in WorkerPids())
        {
            if (IsOurWorker(pid))
            {
                LibCForTests.Kill(pid, 9);
            }
        }

        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"worker \((\d+)\) started")]
    private static partial Regex WorkerStarted();
}
