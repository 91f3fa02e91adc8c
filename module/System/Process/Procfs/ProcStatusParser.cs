using global::System.Buffers.Text;

namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// Parses the <c>Uid:</c>, <c>Gid:</c>, <c>CapEff:</c> and <c>CapPrm:</c> lines of <c>/proc/&lt;pid&gt;/status</c>
/// straight from the bytes. Other lines are skipped without being decoded (<c>Name:</c> is escaped by the
/// kernel, so a hostile comm cannot forge a line).
/// </summary>
public static class ProcStatusParser
{
    /// <summary>False (never throws) when Uid or Gid is missing or malformed; capabilities are optional.</summary>
    public static bool TryParse(ReadOnlySpan<byte> content, out ProcStatus status)
    {
        status = default;
        Span<uint> uids = stackalloc uint[4];
        Span<uint> gids = stackalloc uint[4];
        bool haveUid = false, haveGid = false, haveEff = false, havePrm = false;
        ulong capEff = 0, capPrm = 0;

        while (!content.IsEmpty)
        {
            var end = content.IndexOf((byte)'\n');
            var line = end < 0 ? content : content[..end];
            content = end < 0 ? default : content[(end + 1)..];

            if (line.StartsWith("Uid:"u8))
            {
                haveUid = ParseIds(line[4..], uids);
                if (!haveUid)
                {
                    return false;
                }
            }
            else if (line.StartsWith("Gid:"u8))
            {
                haveGid = ParseIds(line[4..], gids);
                if (!haveGid)
                {
                    return false;
                }
            }
            else if (line.StartsWith("CapEff:"u8))
            {
                haveEff = ParseHex(line[7..], out capEff);
            }
            else if (line.StartsWith("CapPrm:"u8))
            {
                havePrm = ParseHex(line[7..], out capPrm);
            }
        }

        if (!haveUid || !haveGid)
        {
            return false;
        }

        status = new ProcStatus(uids[0], uids[1], uids[2], uids[3], gids[0], gids[1], gids[2], gids[3],
            capEff, capPrm, haveEff && havePrm);
        return true;
    }

    private static bool ParseIds(ReadOnlySpan<byte> values, Span<uint> ids)
    {
        for (var i = 0; i < ids.Length; i++)
        {
            values = values.TrimStart("\t "u8);
            if (!Utf8Parser.TryParse(values, out ids[i], out var used) || used == 0)
            {
                return false;
            }

            values = values[used..];
            if (!values.IsEmpty && values[0] != (byte)'\t' && values[0] != (byte)' ')
            {
                return false;
            }
        }

        return values.Trim("\t "u8).IsEmpty;
    }

    private static bool ParseHex(ReadOnlySpan<byte> value, out ulong result)
    {
        value = value.Trim("\t "u8);
        return Utf8Parser.TryParse(value, out result, out var used, 'x') && used == value.Length && used > 0;
    }
}
