using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;

namespace Shipper.Module.System.Process.Documents;

/// <summary>Writes Unix nanosecond times as RFC 3339 UTC with all nine fractional digits, without allocating.</summary>
public static class Rfc3339
{
    public const int Length = 30; // 2024-05-01T10:00:00.123456789Z

    public static void Format(long unixNanoseconds, Span<byte> destination)
    {
        var seconds = Math.DivRem(unixNanoseconds, 1_000_000_000, out var nanos);
        if (nanos < 0)
        {
            nanos += 1_000_000_000;
            seconds--;
        }

        var time = DateTime.UnixEpoch.AddSeconds(seconds);
        // "s" is yyyy-MM-ddTHH:mm:ss, formatted without parsing a custom pattern.
        if (!time.TryFormat(destination, out var written, "s", null) || written != 19)
        {
            throw new ArgumentException("destination too small for an RFC 3339 time", nameof(destination));
        }

        destination[19] = (byte)'.';
        Utf8Formatter.TryFormat((uint)nanos, destination.Slice(20, 9), out _, new StandardFormat('D', 9));
        destination[29] = (byte)'Z';
    }

    public static void Write(Utf8JsonWriter writer, JsonEncodedText name, long unixNanoseconds)
    {
        Span<byte> text = stackalloc byte[Length];
        Format(unixNanoseconds, text);
        writer.WriteString(name, text);
    }

    public static string ToString(long unixNanoseconds)
    {
        Span<byte> text = stackalloc byte[Length];
        Format(unixNanoseconds, text);
        return global::System.Text.Encoding.ASCII.GetString(text);
    }
}
