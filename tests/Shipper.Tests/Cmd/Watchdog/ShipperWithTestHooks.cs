using System.Diagnostics;

namespace Shipper.Tests.Cmd.Watchdog;

/// <summary>
/// shipper built with <c>-p:ShipperTestHooks=true</c>, so that <c>SHIPPER_TEST_HOG</c> works, into a directory
/// of its own beside the tests, once per test run. The default build beside the tests stays as shipped.
/// </summary>
public static class ShipperWithTestHooks
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    // A failed build is remembered: every test that needs the hooks then fails with its log.
    private static readonly Lazy<string> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The directory of the hooked <c>shipper</c> apphost and <c>shipper.dll</c>; built on first use.</summary>
    public static string Directory => Built.Value;

    private static string Build()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "test-hooks");
        var log = Path.Combine(AppContext.BaseDirectory, "test-hooks.build.log");
        var project = Path.Combine(RepositoryRoot(), "cmd", "Shipper.csproj");

        // The output goes to a file, not a pipe: build servers that outlive the build would hold a pipe open.
        // Restore was done by the build that produced these tests; the property does not change it.
        var info = new ProcessStartInfo("/bin/sh")
        {
            ArgumentList =
            {
                "-c", "exec \"$0\" build \"$1\" -c Debug -p:ShipperTestHooks=true --no-restore -nodeReuse:false -nologo -v:q -o \"$2\" >\"$3\" 2>&1",
                Shipper.Tests.Support.InChildProcess.DotnetHost(), project, output, log,
            },
            UseShellExecute = false,
        };

        using var build = Process.Start(info)!;
        if (!build.WaitForExit(BuildTimeout))
        {
            build.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"building shipper with test hooks took over {BuildTimeout.TotalMinutes} min; log: {log}");
        }

        if (build.ExitCode != 0 || !File.Exists(Path.Combine(output, "shipper")))
        {
            throw new InvalidOperationException($"building shipper with test hooks failed (exit code {build.ExitCode}):\n{File.ReadAllText(log)}");
        }

        return output;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Shipper.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException($"no Shipper.sln above {AppContext.BaseDirectory}");
    }
}
