using System.Diagnostics;
using CsCheck;
using Xunit.Abstractions;

namespace Shipper.Tests.Support;

/// <summary>
/// Runs one fuzz target for a bounded time and prints how many inputs it tried. Each target gets
/// <see cref="DefaultSeconds"/> in ordinary runs and CI, so the whole fuzz set costs well under a minute of the
/// suite; <c>SHIPPER_FUZZ_SECONDS=300</c> makes every target run that long for a real hunt. A failure prints
/// CsCheck's seed (rerun it with <c>CsCheck_Seed=…</c>) and the shrunk input. An input that hangs the code fails
/// the test naming that input instead of holding the suite up: the target runs on its own thread and the test
/// waits only the budget plus <see cref="HangGrace"/>.
/// </summary>
public static class FuzzBudget
{
    public const int DefaultSeconds = 3;

    public const string SecondsVariable = "SHIPPER_FUZZ_SECONDS";

    private static readonly TimeSpan HangGrace = TimeSpan.FromSeconds(30);

    public static int Seconds =>
        int.TryParse(Environment.GetEnvironmentVariable(SecondsVariable), out var seconds) && seconds > 0 ? seconds : DefaultSeconds;

    /// <summary>Runs <paramref name="property"/> on generated inputs for the budget; returns the executions.</summary>
    public static long Run<T>(ITestOutputHelper output, string target, Gen<T> gen, Action<T> property, Func<T, string> print)
    {
        long executions = 0;
        object? inFlight = null;
        Exception? failure = null;
        var budget = Seconds;
        var clock = Stopwatch.StartNew();

        // One thread: the machine is shared, and CsCheck's shrinking after a failure needs no more.
        var runner = new Thread(() =>
        {
            try
            {
                gen.Sample(input =>
                {
                    Volatile.Write(ref inFlight, input);
                    property(input);
                    Interlocked.Increment(ref executions);
                }, time: budget, threads: 1, print: print);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = "fuzz " + target };
        runner.Start();

        if (!runner.Join(TimeSpan.FromSeconds(budget) + HangGrace))
        {
            var stuck = Volatile.Read(ref inFlight);
            Assert.Fail($"fuzz {target}: no answer within {HangGrace.TotalSeconds:0} s of the budget; hung on {(stuck is T input ? print(input) : "?")}");
        }

        var line = $"fuzz {target}: {Interlocked.Read(ref executions)} executions in {clock.Elapsed.TotalSeconds:0.0} s";
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable(SecondsVariable) is not null)
        {
            // A long run is read from the console, where xunit does not show test output by default.
            Console.Error.WriteLine(line);
        }

        if (failure is not null)
        {
            // CsCheck's message holds the seed and the shrunk input; the property's own failure is the inner one.
            var because = failure.InnerException is { } inner ? $"\n{inner.GetType().Name}: {inner.Message}\n{inner.StackTrace}" : "";
            throw new Xunit.Sdk.XunitException($"fuzz {target} failed after {Interlocked.Read(ref executions)} executions: {failure.Message}{because}");
        }

        return executions;
    }

    /// <summary>
    /// Bytes the current thread allocated while <paramref name="action"/> ran (the bound on work per input). The
    /// first run pays for one-time set-up (static tables) and is not measured. Of the measured runs, a run that
    /// allocated nothing ends it: the runtime itself now and then allocates on the calling thread (CI once saw
    /// 5,048 bytes in one run in 56,810, not reproducible with the same seed), while code that allocates per
    /// input does so on every run.
    /// </summary>
    public static long Allocated(Action action)
    {
        action();
        long least = long.MaxValue;
        for (var run = 0; run < 3 && least > 0; run++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            action();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }

    public static string Hex(byte[] bytes) => Convert.ToHexString(bytes);

    /// <summary>Bytes as a C#-style escaped string: readable when the input is mostly text, exact when it is not.</summary>
    public static string Escaped(byte[] bytes)
    {
        var sb = new global::System.Text.StringBuilder(bytes.Length + 2).Append('"');
        foreach (var b in bytes)
        {
            sb.Append(b switch
            {
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                (byte)'\n' => "\\n",
                (byte)'\t' => "\\t",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:X2}",
            });
        }

        return sb.Append('"').ToString();
    }
}
