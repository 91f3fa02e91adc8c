namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// Detects lost proc connector messages from <c>cn_msg.seq</c>, which the kernel numbers per CPU (a
/// per-CPU counter incremented under a local lock, so one CPU's messages arrive in order). A jump from n to
/// n+k+1 on one CPU means k messages from that CPU never reached us. Only meaningful when we receive every
/// message the kernel numbers, i.e. without the kernel-side event filter.
/// </summary>
public sealed class SequenceTracker
{
    private const int MaxCpus = 1 << 16;
    private long[] _expected = CreateArray(64);

    /// <summary>Returns how many messages from this CPU were skipped before this one (0 when in order).</summary>
    public long Observe(uint cpu, uint sequence)
    {
        if (cpu >= _expected.Length)
        {
            if (cpu >= MaxCpus)
            {
                return 0; // not a CPU number we can believe; do not grow without bound
            }

            // Rare (first message from a high CPU number): the only allocation, once per CPU range.
            var bigger = CreateArray((int)Math.Max(cpu + 1, (uint)_expected.Length * 2));
            _expected.CopyTo(bigger, 0);
            _expected = bigger;
        }

        var expected = _expected[cpu];
        _expected[cpu] = ((long)sequence + 1) & 0xFFFF_FFFF;
        if (expected < 0)
        {
            return 0;
        }

        var gap = unchecked(sequence - (uint)expected);

        // A "negative" gap is a message older than the last one seen (a reset counter, a replayed message):
        // not evidence of loss.
        return gap < 0x8000_0000u ? gap : 0;
    }

    /// <summary>Forgets every CPU's position (e.g. after re-subscribing).</summary>
    public void Reset() => Array.Fill(_expected, -1L);

    private static long[] CreateArray(int length)
    {
        var array = new long[length];
        Array.Fill(array, -1L);
        return array;
    }
}
