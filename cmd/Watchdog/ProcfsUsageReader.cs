using System.Buffers.Text;
using Microsoft.Win32.SafeHandles;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Watchdog;

/// <summary>
/// Reads a process's CPU time from <c>/proc/&lt;pid&gt;/stat</c> (utime + stime, in clock ticks) and its resident
/// memory from <c>/proc/&lt;pid&gt;/status</c> (VmRSS). One reader reuses one buffer; it is not thread-safe.
/// </summary>
public sealed class ProcfsUsageReader
{
    private readonly byte[] _buffer = new byte[8192];
    private readonly string _procRoot;

    public ProcfsUsageReader(string procRoot = "/proc")
    {
        _procRoot = procRoot;
    }

    /// <summary>False when the process is gone (or its files vanished while we read them).</summary>
    public bool TryRead(int pid, out ProcessUsage usage)
    {
        usage = default;
        var prefix = pid == 0 ? _procRoot + "/self" : _procRoot + "/" + pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!TryReadFile(prefix + "/stat", out var statLength))
        {
            return false;
        }

        if (!TryParseStatCpuTicks(_buffer.AsSpan(0, statLength), out var ticks))
        {
            throw new InvalidDataException($"{prefix}/stat: cannot find utime and stime in '{System.Text.Encoding.ASCII.GetString(_buffer, 0, Math.Min(statLength, 200))}'");
        }

        if (!TryReadFile(prefix + "/status", out var statusLength))
        {
            return false;
        }

        // A zombie or kernel thread has no VmRSS line: it holds no user memory.
        var rss = TryParseStatusRssBytes(_buffer.AsSpan(0, statusLength), out var bytes) ? bytes : 0;
        usage = new ProcessUsage(TicksToTime(ticks), rss);
        return true;
    }

    /// <summary>Reads this process's own usage.</summary>
    public ProcessUsage ReadSelf() =>
        TryRead(0, out var usage) ? usage : throw new InvalidOperationException($"cannot read {_procRoot}/self");

    public static TimeSpan TicksToTime(long clockTicks) =>
        TimeSpan.FromTicks(clockTicks * TimeSpan.TicksPerSecond / LibC.ClockTicksPerSecond);

    /// <summary>utime + stime (fields 14 and 15) of a stat line, parsed by the same parser the process dataset uses.</summary>
    public static bool TryParseStatCpuTicks(ReadOnlySpan<byte> stat, out long ticks)
    {
        ticks = 0;
        if (!ProcStatParser.TryParse(stat, out var parsed))
        {
            return false;
        }

        // Refuse a sum no process can reach rather than wrap it negative: TicksToTime must not overflow either.
        const ulong most = long.MaxValue / TimeSpan.TicksPerSecond;
        if (parsed.UserTicks > most || parsed.SystemTicks > most - parsed.UserTicks)
        {
            return false;
        }

        ticks = (long)(parsed.UserTicks + parsed.SystemTicks);
        return true;
    }

    /// <summary>The VmRSS line of a status file ("VmRSS:\t  12345 kB"), in bytes.</summary>
    public static bool TryParseStatusRssBytes(ReadOnlySpan<byte> status, out long bytes)
    {
        bytes = 0;
        ReadOnlySpan<byte> key = "VmRSS:"u8;
        var at = status.IndexOf(key);
        if (at < 0 || (at > 0 && status[at - 1] != (byte)'\n'))
        {
            return false;
        }

        var line = status[(at + key.Length)..];
        var newline = line.IndexOf((byte)'\n');
        if (newline >= 0)
        {
            line = line[..newline];
        }

        line = line.Trim(" \t"u8);
        var space = line.IndexOfAny((byte)' ', (byte)'\t');
        if (space < 0 || !line[(space + 1)..].Trim(" \t"u8).SequenceEqual("kB"u8))
        {
            return false;
        }

        if (!Utf8Parser.TryParse(line[..space], out long kib, out var consumed) || consumed != space || kib < 0 || kib > long.MaxValue / 1024)
        {
            return false;
        }

        bytes = kib * 1024;
        return true;
    }

    private bool TryReadFile(string path, out int length)
    {
        length = 0;
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return false;
        }

        using (handle)
        {
            try
            {
                // procfs files must be read sequentially from offset 0; a short read means the end.
                while (length < _buffer.Length)
                {
                    var n = RandomAccess.Read(handle, _buffer.AsSpan(length), length);
                    if (n == 0)
                    {
                        break;
                    }

                    length += n;
                }
            }
            catch (IOException)
            {
                // ESRCH: the process exited between open and read.
                return false;
            }
        }

        return true;
    }
}
