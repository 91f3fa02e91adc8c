using global::System.Runtime.InteropServices;
using global::System.Text;

namespace Shipper.Module.System.Process.Ebpf;

/// <summary>
/// Collects what libbpf prints while an object is opened and loaded (its warnings and, when the verifier
/// refuses a program, the verifier's log), so a failed load can say why. libbpf's printer is process-wide and
/// would otherwise write to our stderr; loads are serialised by a lock, and outside a load messages are dropped.
/// </summary>
internal static unsafe class LibBpfLog
{
    private static readonly Lock Gate = new();
    private static StringBuilder? _capture;
    private static bool _installed;
    private static byte[]? _buffer; // used under Gate: libbpf prints from the loading thread

    /// <summary>Runs <paramref name="action"/> with libbpf's messages collected; returns them.</summary>
    public static string Capture(Action action)
    {
        lock (Gate)
        {
            if (!_installed)
            {
                LibBpf.SetPrint(&Print);
                _installed = true;
            }

            var capture = new StringBuilder();
            Volatile.Write(ref _capture, capture);
            try
            {
                action();
            }
            finally
            {
                Volatile.Write(ref _capture, null);
            }

            return capture.ToString();
        }
    }

    [UnmanagedCallersOnly]
    private static int Print(int level, byte* format, nint arguments)
    {
        var capture = Volatile.Read(ref _capture);
        if (capture is null)
        {
            return 0;
        }

        // libbpf's debug level (2) repeats every relocation: keep warnings (0) and information (1) only.
        if (level > 1)
        {
            return 0;
        }

        // One message can hold the verifier's whole log, whose end says what it refused: room for a big one.
        var buffer = _buffer ??= GC.AllocateUninitializedArray<byte>(1 << 20, pinned: true);
        fixed (byte* b = buffer)
        {
            var length = LibBpf.VsnPrintf(b, (nuint)buffer.Length, format, arguments);
            if (length > 0)
            {
                capture.Append(Encoding.UTF8.GetString(b, Math.Min(length, buffer.Length - 1)));
            }
        }

        return 0;
    }
}
