using System.Diagnostics;
using Shipper.Tests.Cmd.Events;
using Shipper.Tests.Cmd.Publisher.Disk;

namespace Shipper.Tests.Support;

/// <summary>
/// Runs one of the <see cref="Entries"/> in a fresh process (the test assembly started by the dotnet host,
/// entering at <see cref="Main"/>) and returns what it wrote. For code whose outcome depends on process-wide
/// state a test must not change under the tests running beside it, such as the local time zone (<c>TZ</c>),
/// which <see cref="TimeZoneInfo.Local"/> reads once per process; or for code a test must kill mid-way, as a
/// crash would (<see cref="Start"/>).
/// </summary>
public static class InChildProcess
{
    /// <summary>What a child may run, by name (no reflection: the assembly is analysed as trimmable).</summary>
    private static readonly Dictionary<string, Func<string[], string>> Entries = new(StringComparer.Ordinal)
    {
        [nameof(DocumentWriterTests.WriteLocalTime)] = DocumentWriterTests.WriteLocalTime,
        [nameof(DiskQueueCrashTests.WriteUntilKilled)] = DiskQueueCrashTests.WriteUntilKilled,
    };

    public static string Run(string entry, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var process = Start(entry, environment, args);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill();
            throw new TimeoutException($"{entry} did not finish in a child process");
        }

        Assert.True(process.ExitCode == 0, $"{entry} in a child process exited {process.ExitCode}: {stderr.Result}");
        return stdout;
    }

    /// <summary>
    /// Starts one of the <see cref="Entries"/> in a child process and returns at once, its output and error
    /// redirected, for a test that watches it as it runs and ends it itself (e.g. with SIGKILL).
    /// </summary>
    public static Process Start(string entry, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        Assert.True(Entries.ContainsKey(entry), $"{entry} is not one of InChildProcess.Entries");
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Shipper.Tests.dll"));
        info.ArgumentList.Add(entry);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start the dotnet host");
    }

    /// <summary>The child's entry point: <c>Shipper.Tests.dll ENTRY ARGS...</c> writes what the entry returns.</summary>
    public static int Main(string[] args)
    {
        if (args.Length < 1 || !Entries.TryGetValue(args[0], out var run))
        {
            Console.Error.WriteLine($"usage: Shipper.Tests.dll {string.Join('|', Entries.Keys)} [ARGS...] (the tests run under dotnet test)");
            return 2;
        }

        Console.Out.Write(run(args[1..]));
        return 0;
    }

    /// <summary>The dotnet host running these tests (the SDK names it when it starts them).</summary>
    public static string DotnetHost()
    {
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
        {
            return fromSdk;
        }

        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
