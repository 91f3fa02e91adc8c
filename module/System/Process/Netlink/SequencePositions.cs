using global::System.Globalization;
using global::System.Text;

namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// How far this worker has read the kernel's per-CPU proc connector numbering (<c>cn_msg.seq</c>, one counter per
/// CPU for every event the kernel sends to any listener, filtered or not), so that a worker replaced by the
/// watcher can tell its successor where it stopped, and the successor counts every number in between as lost:
/// the events that sat unread in the dead worker's sockets and those sent while no worker listened.
/// <para>
/// With two sockets (the kernel filter with deferred forks and exits) one CPU's numbers are split between them
/// and either may lag by up to a drain interval, so the position reported for a CPU is the lower of the two
/// sockets' last numbers: what follows it may have been read by the old worker (then it is counted twice)
/// rather than skipped unread. (A CPU heard from on one socket only reports that socket's number.) Written by
/// the reader thread only; <see cref="Encode"/> may run on any thread
/// and reads each CPU's numbers without a lock (a stale value only moves the position back).
/// </para>
/// </summary>
public sealed class SequencePositions
{
    private const int MaxCpus = 1 << 16;
    private const long None = -1;

    private long[] _main = Create(64);
    private long[] _deferred = Create(64);
    private long[] _carried = Create(64);

    /// <summary>
    /// Takes the positions the previous worker reported (<c>cpu:sequence,…</c>): the first number this worker sees
    /// on each of those CPUs is then compared with them. False with a message when the text is not such a list.
    /// </summary>
    public bool TryInherit(string text, out string? error)
    {
        error = null;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.IndexOf(':');
            if (colon <= 0
                || !uint.TryParse(part.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var cpu)
                || !uint.TryParse(part.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
                || cpu >= MaxCpus)
            {
                error = $"'{part}' is not cpu:sequence";
                return false;
            }

            Grow(cpu);
            _carried[cpu] = sequence;
        }

        return true;
    }

    /// <summary>
    /// Records a message's number; returns how many numbers of this CPU the previous worker never read before
    /// this one (only for the first message of a CPU it reported on; 0 otherwise).
    /// </summary>
    public long Observe(uint cpu, uint sequence, bool deferredSocket)
    {
        if (cpu >= MaxCpus)
        {
            return 0; // not a CPU number we can believe; do not grow without bound
        }

        Grow(cpu);
        var positions = deferredSocket ? _deferred : _main;
        Volatile.Write(ref positions[cpu], sequence);
        var carried = _carried[cpu];
        if (carried == None)
        {
            return 0;
        }

        _carried[cpu] = None;
        var gap = unchecked(sequence - (uint)carried - 1);

        // At or behind the carried position (the old worker's last number, a counter that went back): nothing
        // is known to be missing.
        return gap < 0x8000_0000u ? gap : 0;
    }

    /// <summary>Every CPU's position as <c>cpu:sequence,…</c> (empty before any message); safe from any thread.</summary>
    public string Encode()
    {
        var main = Volatile.Read(ref _main);
        var deferred = Volatile.Read(ref _deferred);
        var carried = Volatile.Read(ref _carried);
        var length = Math.Min(main.Length, Math.Min(deferred.Length, carried.Length));
        var text = new StringBuilder();
        for (var cpu = 0; cpu < length; cpu++)
        {
            var m = Volatile.Read(ref main[cpu]);
            var d = Volatile.Read(ref deferred[cpu]);
            long position;
            if (m != None && d != None)
            {
                // The one further behind, in the kernel's wrapping 32-bit numbering.
                position = unchecked((int)((uint)m - (uint)d)) < 0 ? m : d;
            }
            else if (m != None || d != None)
            {
                position = m != None ? m : d;
            }
            else
            {
                // Not heard from in this worker yet: what the previous one reported still stands.
                position = Volatile.Read(ref carried[cpu]);
            }

            if (position == None)
            {
                continue;
            }

            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(CultureInfo.InvariantCulture, $"{cpu}:{position}");
        }

        return text.ToString();
    }

    private void Grow(uint cpu)
    {
        if (cpu < _main.Length)
        {
            return;
        }

        // Rare (first message from a high CPU number): the only allocation, once per CPU range.
        var length = (int)Math.Max(cpu + 1, (uint)_main.Length * 2);
        _carried = Copy(_carried, length);
        _deferred = Copy(_deferred, length);
        Volatile.Write(ref _main, Copy(_main, length));
    }

    private static long[] Copy(long[] from, int length)
    {
        var to = Create(length);
        from.CopyTo(to, 0);
        return to;
    }

    private static long[] Create(int length)
    {
        var array = new long[length];
        Array.Fill(array, None);
        return array;
    }
}
