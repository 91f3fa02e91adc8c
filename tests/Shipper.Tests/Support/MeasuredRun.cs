using System.Diagnostics;
using System.Globalization;

namespace Shipper.Tests.Support;

/// <summary>
/// Runs the real shipper binary (the apphost beside the tests) to its end and reports its exit code, output and
/// peak resident memory: the kernel's high-water mark (VmHWM in /proc/PID/status), read every couple of
/// milliseconds until the process exits (a zombie no longer has it). rusage cannot say it: a child's ru_maxrss
/// starts from the RSS of the test host it was forked from. A run that outlives the timeout is killed and
/// reported as timed out.
/// </summary>
public static class MeasuredRun
{
    public sealed record Result(int ExitCode, bool TimedOut, string Stdout, string Stderr, long PeakRssKiB, TimeSpan Elapsed);

    /// <param name="environment">Variables set for the child on top of the test's own.</param>
    public static Result Shipper(TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "shipper"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var statusPath = $"/proc/{process.Id}/status";
        long peak = 0;
        var timedOut = false;
        while (!process.WaitForExit(2))
        {
            peak = Math.Max(peak, HighWaterKiB(statusPath));
            if (stopwatch.Elapsed > timeout)
            {
                timedOut = true;
                process.Kill();
                process.WaitForExit();
                break;
            }
        }

        process.WaitForExit(); // the last of its output
        stopwatch.Stop();
        return new Result(process.ExitCode, timedOut, stdout.Result, stderr.Result, peak, stopwatch.Elapsed);
    }

    private static long HighWaterKiB(string statusPath)
    {
        try
        {
            foreach (var line in File.ReadLines(statusPath))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            // It exited between the check and the read.
        }

        return 0;
    }
}
