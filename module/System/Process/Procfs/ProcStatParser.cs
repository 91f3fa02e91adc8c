using global::System.Buffers.Text;
using global::System.Text;

namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// Parses <c>/proc/&lt;pid&gt;/stat</c>. <c>comm</c> is the only free-form field and may hold anything but NUL
/// — spaces, <c>(</c>, <c>)</c>, <c>) (</c>, newlines — so it is delimited by the first <c>(</c> and the LAST
/// <c>)</c> of the whole line: every field after it is a number or the one-letter state, never a parenthesis.
/// </summary>
public static class ProcStatParser
{
    /// <summary>Returns false (never throws) when the content is not a well-formed stat line up to starttime.</summary>
    public static bool TryParse(ReadOnlySpan<byte> content, out ProcStat stat)
    {
        stat = default;
        var open = content.IndexOf((byte)'(');
        var close = content.LastIndexOf((byte)')');
        if (open < 1 || close < open)
        {
            return false;
        }

        if (!Utf8Parser.TryParse(content[..open].TrimEnd((byte)' '), out int pid, out var used) || used != open - 1 || pid < 0)
        {
            return false;
        }

        // After the comm: " S ppid pgrp ..." — one space, then space-separated fields 3..22.
        var rest = content[(close + 1)..];
        if (rest.Length < 2 || rest[0] != (byte)' ')
        {
            return false;
        }

        rest = rest[1..];
        var stateField = NextField(ref rest);
        if (stateField.Length != 1)
        {
            return false;
        }

        if (!NextInt(ref rest, out var ppid) || !NextInt(ref rest, out var pgrp) || !NextInt(ref rest, out var session)
            || !NextInt(ref rest, out var ttyNr) || !NextLong(ref rest, out _) /* tpgid */
            || !NextULong(ref rest, out var flags)
            || !Skip(ref rest, 4) /* minflt cminflt majflt cmajflt */
            || !NextULong(ref rest, out var utime) || !NextULong(ref rest, out var stime)
            || !Skip(ref rest, 4) /* cutime cstime priority nice */
            || !NextLong(ref rest, out var threads)
            || !Skip(ref rest, 1) /* itrealvalue */
            || !NextULong(ref rest, out var startTime))
        {
            return false;
        }

        stat = new ProcStat(pid, open + 1, close - open - 1, (char)stateField[0], ppid, pgrp, session, ttyNr,
            unchecked((uint)flags), utime, stime, threads, startTime);
        return true;
    }

    /// <summary>
    /// Fields 48 and 49, <c>arg_start</c> and <c>arg_end</c>: where the process's argv strings live, and field 28,
    /// <c>startstack</c>: where the stack started at exec, which is where the kernel put <c>argc</c>. The kernel
    /// shows them only to a reader allowed to inspect the process (else 0), and they are 0 for zombies and
    /// kernel threads. False when the line stops short of them.
    /// </summary>
    public static bool TryParseArgArea(ReadOnlySpan<byte> content, out ulong start, out ulong end, out ulong stackStart)
    {
        start = end = stackStart = 0;
        var close = content.LastIndexOf((byte)')');
        if (close < 0 || close + 2 > content.Length)
        {
            return false;
        }

        // After the comm come fields 3 (state) .. 27, startstack, fields 29 .. 47 (start_brk), then arg_start and arg_end.
        var rest = content[(close + 2)..];
        return Skip(ref rest, 25) && NextULong(ref rest, out stackStart) && Skip(ref rest, 19)
            && NextULong(ref rest, out start) && NextULong(ref rest, out end);
    }

    /// <summary>The comm located by <see cref="TryParse"/>; invalid UTF-8 becomes U+FFFD.</summary>
    public static string DecodeComm(ReadOnlySpan<byte> content, in ProcStat stat) =>
        Encoding.UTF8.GetString(content.Slice(stat.CommStart, stat.CommLength));

    private static ReadOnlySpan<byte> NextField(ref ReadOnlySpan<byte> rest)
    {
        var end = rest.IndexOfAny((byte)' ', (byte)'\n');
        ReadOnlySpan<byte> field;
        if (end < 0)
        {
            field = rest;
            rest = default;
        }
        else
        {
            field = rest[..end];
            rest = rest[(end + 1)..];
        }

        return field;
    }

    private static bool Skip(ref ReadOnlySpan<byte> rest, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (NextField(ref rest).IsEmpty)
            {
                return false;
            }
        }

        return true;
    }

    private static bool NextInt(ref ReadOnlySpan<byte> rest, out int value)
    {
        var field = NextField(ref rest);
        return Utf8Parser.TryParse(field, out value, out var used) && used == field.Length && used > 0;
    }

    private static bool NextLong(ref ReadOnlySpan<byte> rest, out long value)
    {
        var field = NextField(ref rest);
        return Utf8Parser.TryParse(field, out value, out var used) && used == field.Length && used > 0;
    }

    private static bool NextULong(ref ReadOnlySpan<byte> rest, out ulong value)
    {
        var field = NextField(ref rest);
        return Utf8Parser.TryParse(field, out value, out var used) && used == field.Length && used > 0;
    }
}
