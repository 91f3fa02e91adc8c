using global::System.Runtime.InteropServices;
using global::System.Text;

namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// Lists the pids in <c>/proc</c>: the all-digit entries. Uses opendir/readdir directly so a scan of thousands
/// of processes allocates nothing per entry. <c>/proc</c> lists thread-group leaders only; threads live under
/// <c>/proc/&lt;pid&gt;/task</c>, so every pid returned is a process (or a kernel thread).
/// </summary>
public static unsafe class ProcScanner
{
    // struct dirent (glibc and musl, 64-bit): d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name[].
    private const int NameOffset = 19;

    /// <summary>Clears <paramref name="pids"/> and fills it; returns false with an error if the directory cannot be read.</summary>
    public static bool ListProcesses(string procRoot, List<int> pids, out string? error)
    {
        pids.Clear();
        error = null;
        var pathBytes = Encoding.UTF8.GetBytes(procRoot + "\0");
        nint dir;
        fixed (byte* path = pathBytes)
        {
            dir = ProcfsSyscalls.OpenDir(path);
        }

        if (dir == 0)
        {
            error = $"cannot list {procRoot}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}";
            return false;
        }

        try
        {
            while (true)
            {
                var entry = ProcfsSyscalls.ReadDir(dir);
                if (entry == null)
                {
                    return true;
                }

                if (TryParsePid(entry + NameOffset, out var pid))
                {
                    pids.Add(pid);
                }
            }
        }
        finally
        {
            ProcfsSyscalls.CloseDir(dir);
        }
    }

    private static bool TryParsePid(byte* name, out int pid)
    {
        pid = 0;
        long value = 0;
        var i = 0;
        for (; name[i] != 0; i++)
        {
            var digit = name[i] - (byte)'0';
            if ((uint)digit > 9 || i >= 10)
            {
                return false;
            }

            value = (value * 10) + digit;
        }

        if (i == 0 || value > int.MaxValue || value == 0)
        {
            return false;
        }

        pid = (int)value;
        return true;
    }
}
