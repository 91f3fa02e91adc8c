using System.Globalization;

namespace Shipper.Module.Config;

/// <summary>Parses durations and byte sizes the way beats do (Go durations, humanize byte sizes).</summary>
public static class ValueParsers
{
    /// <summary>
    /// Go-style durations: "500ms", "10s", "1m30s", "1.5h"; units ns, us/µs, ms, s, m, h.
    /// A bare number means seconds, as go-ucfg treats numbers given for durations.
    /// </summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var s = text.Trim();
        if (s.Length == 0)
        {
            return false;
        }

        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            if (seconds < 0 || double.IsNaN(seconds) || seconds > TimeSpan.MaxValue.TotalSeconds)
            {
                return false;
            }

            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        var negative = false;
        var i = 0;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            i++;
        }

        double totalTicks = 0;
        var any = false;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            if (start == i || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            var unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }

            double ticksPerUnit = s.AsSpan(unitStart, i - unitStart) switch
            {
                "ns" => 0.01,
                "us" or "µs" or "μs" => 10,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                _ => -1,
            };
            if (ticksPerUnit < 0)
            {
                return false;
            }

            totalTicks += number * ticksPerUnit;
            any = true;
        }

        if (!any || negative || totalTicks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)Math.Round(totalTicks));
        return true;
    }

    /// <summary>
    /// Byte sizes as go-humanize parses them: "1048576", "100 MiB", "50mb", "1.5 GB". SI units (kB, MB) are
    /// powers of 1000 and IEC units (KiB, MiB) powers of 1024; case does not matter.
    /// </summary>
    public static bool TryParseSize(string text, out long value)
    {
        value = 0;
        var s = text.Trim();
        var i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
        {
            i++;
        }

        if (i == 0 || !double.TryParse(s.AsSpan(0, i), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var unit = s.AsSpan(i).Trim().ToString().ToLowerInvariant();
        double multiplier = unit switch
        {
            "" or "b" => 1,
            "k" or "kb" => 1e3,
            "ki" or "kib" => 1L << 10,
            "m" or "mb" => 1e6,
            "mi" or "mib" => 1L << 20,
            "g" or "gb" => 1e9,
            "gi" or "gib" => 1L << 30,
            "t" or "tb" => 1e12,
            "ti" or "tib" => 1L << 40,
            "p" or "pb" => 1e15,
            "pi" or "pib" => 1L << 50,
            _ => -1,
        };
        if (multiplier < 0)
        {
            return false;
        }

        var bytes = number * multiplier;
        if (bytes > long.MaxValue || double.IsNaN(bytes))
        {
            return false;
        }

        value = (long)bytes;
        return true;
    }

    public static bool TryParseBool(string text, out bool value)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "true" or "yes" or "on" or "y":
                value = true;
                return true;
            case "false" or "no" or "off" or "n":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    public static string FormatDuration(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        if (value.Ticks % TimeSpan.TicksPerHour == 0)
        {
            return $"{value.Ticks / TimeSpan.TicksPerHour}h";
        }

        if (value.Ticks % TimeSpan.TicksPerMinute == 0)
        {
            return $"{value.Ticks / TimeSpan.TicksPerMinute}m";
        }

        if (value.Ticks % TimeSpan.TicksPerSecond == 0)
        {
            return $"{value.Ticks / TimeSpan.TicksPerSecond}s";
        }

        return value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
    }
}
