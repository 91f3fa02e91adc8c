using System.Runtime.InteropServices;

namespace Shipper.Benchmarks.Elasticsearch;

/// <summary>
/// Context switches of the whole process (every thread), from getrusage(RUSAGE_SELF): each time a loop waits for
/// another and a thread sleeps, or the scheduler takes the CPU away. /proc/self/status counts the main thread only.
/// </summary>
public static partial class ContextSwitches
{
    private const int RusageSelf = 0;

    /// <summary>Voluntary plus involuntary switches so far; 0 when getrusage fails.</summary>
    public static long Now()
    {
        // struct rusage on x86_64/arm64 Linux: two timevals (4 longs), then 14 longs; nvcsw and nivcsw are the last two.
        Span<long> usage = stackalloc long[18];
        return GetRUsage(RusageSelf, ref MemoryMarshal.GetReference(usage)) == 0 ? usage[16] + usage[17] : 0;
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRUsage(int who, ref long usage);
}
