using System.Globalization;
using Shipper.Module.Config;
using Shipper.Module.Logging;

namespace Shipper.Watchdog;

/// <summary>
/// TEST-ONLY knob for the watchdog's end-to-end tests: <c>SHIPPER_TEST_HOG=memory:300MB</c> makes a watched
/// worker grow its resident memory to that size (in about a second, then hold it), <c>cpu</c> makes it spin
/// one core, <c>crash</c> makes it exit with <see cref="CrashExitCode"/> at start. It acts only in a worker
/// started by the watcher and does nothing when the variable is unset or empty. Compiled only into a build
/// with <c>-p:ShipperTestHooks=true</c> (see Shipper.csproj), so a released binary has no such knob.
/// </summary>
public static class TestHog
{
    public const string EnvironmentVariable = "SHIPPER_TEST_HOG";

    /// <summary>The exit code of <c>crash</c> (EX_SOFTWARE).</summary>
    public const int CrashExitCode = 70;

    private const int ChunkBytes = 8 * 1024 * 1024;

    // Holds the hogged memory so the GC cannot give it back.
    private static readonly List<byte[]> Hoard = new();

    /// <summary>Starts the hog the variable's <paramref name="value"/> asks for. Returns what it started, or null when the knob is unset.</summary>
    public static string? StartIfRequested(Logger log, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var spec = value.Trim();
        if (spec.Equals("crash", StringComparison.OrdinalIgnoreCase))
        {
            log.Error($"{EnvironmentVariable}=crash (test knob): worker ({Environment.ProcessId}) exiting with code {CrashExitCode}");
            Console.Error.Flush();
            LibC.ExitImmediately(CrashExitCode);
            return spec;
        }

        if (spec.Equals("cpu", StringComparison.OrdinalIgnoreCase))
        {
            log.Warn($"{EnvironmentVariable}=cpu (test knob): worker ({Environment.ProcessId}) spinning one core");
            new Thread(Spin) { IsBackground = true, Name = "test-hog-cpu" }.Start();
            return spec;
        }

        if (spec.StartsWith("memory:", StringComparison.OrdinalIgnoreCase)
            && ValueParsers.TryParseSize(spec["memory:".Length..], out var bytes) && bytes > 0)
        {
            log.Warn(string.Create(CultureInfo.InvariantCulture, $"{EnvironmentVariable}={spec} (test knob): worker ({Environment.ProcessId}) growing its resident memory by {WatchdogSettings.FormatBytes(bytes)}"));
            new Thread(() => Grow(bytes)) { IsBackground = true, Name = "test-hog-memory" }.Start();
            return spec;
        }

        log.Error($"{EnvironmentVariable}='{value}' (test knob) is not memory:<size>, cpu or crash; ignored");
        return null;
    }

    private static void Spin()
    {
        var x = 0UL;
        while (true)
        {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            if (x == 42)
            {
                Thread.Yield();
            }
        }
    }

    private static void Grow(long bytes)
    {
        // Grow in steps (~100 ms per 80 MB) so the watcher sees it rise, as a real leak would.
        long held = 0;
        while (held < bytes)
        {
            var size = (int)Math.Min(ChunkBytes, bytes - held);
            var chunk = GC.AllocateUninitializedArray<byte>(size);
            for (var i = 0; i < chunk.Length; i += 4096)
            {
                chunk[i] = 1; // touch every page so it is resident
            }

            lock (Hoard)
            {
                Hoard.Add(chunk);
            }

            held += size;
            Thread.Sleep(10);
        }
    }
}
