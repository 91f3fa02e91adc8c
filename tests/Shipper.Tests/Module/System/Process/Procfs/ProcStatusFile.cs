using global::System.Text;
using CsCheck;

namespace Shipper.Tests.Module.System.Process.Procfs;

/// <summary>
/// One generated <c>/proc/&lt;pid&gt;/status</c>, laid out as <c>proc_pid_status</c> prints it: tab after each
/// key, ids tab-separated, capabilities as 16 hex digits, the name escaped (<c>\n</c> and <c>\\</c>).
/// </summary>
public sealed record ProcStatusFile(byte[] Name, uint[] Uids, uint[] Gids, ulong CapPermitted, ulong CapEffective, long RssKib, bool Kernel)
{
    private static readonly Gen<uint> Ids = Gen.Frequency<uint>((3, Gen.UInt[0, 70000]), (1, Gen.UInt), (1, Gen.OneOf(uint.MaxValue, 65534u)));

    public static readonly Gen<ProcStatusFile> Any = CsCheck.Gen.Select(
        ProcStatLine.Comms, Ids.Array[4], Ids.Array[4], CsCheck.Gen.ULong, CsCheck.Gen.ULong,
        CsCheck.Gen.Frequency<long>((4, CsCheck.Gen.Long[0, 1L << 30]), (1, CsCheck.Gen.Long[0, long.MaxValue])), CsCheck.Gen.Bool,
        (name, uids, gids, prm, eff, rss, kernel) => new ProcStatusFile(name, uids, gids, prm, eff, rss, kernel));

    public byte[] Render()
    {
        var escaped = new List<byte>();
        foreach (var b in Name)
        {
            if (b == (byte)'\n')
            {
                escaped.AddRange("\\n"u8.ToArray());
            }
            else if (b == (byte)'\\')
            {
                escaped.AddRange("\\\\"u8.ToArray());
            }
            else
            {
                escaped.Add(b);
            }
        }

        var sb = new StringBuilder();
        sb.Append("\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nNgid:\t0\nPid:\t42\nPPid:\t1\nTracerPid:\t0\n");
        sb.Append("Uid:\t").AppendJoin('\t', Uids).Append('\n');
        sb.Append("Gid:\t").AppendJoin('\t', Gids).Append('\n');
        sb.Append("FDSize:\t64\nGroups:\t4 24 27 \nNStgid:\t42\nNSpid:\t42\nNSpgid:\t42\nNSsid:\t42\n");
        if (!Kernel)
        {
            // A kernel thread has no memory lines.
            sb.Append($"VmPeak:\t  10000 kB\nVmSize:\t  10000 kB\nVmLck:\t       0 kB\nVmHWM:\t    5000 kB\nVmRSS:\t{RssKib,8} kB\n");
            sb.Append("RssAnon:\t    1000 kB\nVmSwap:\t       0 kB\n");
        }

        sb.Append("Threads:\t1\nSigQ:\t0/63412\nSigPnd:\t0000000000000000\nCapInh:\t0000000000000000\n");
        sb.Append($"CapPrm:\t{CapPermitted:x16}\nCapEff:\t{CapEffective:x16}\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n");
        sb.Append("NoNewPrivs:\t0\nSeccomp:\t0\nSpeculation_Store_Bypass:\tthread vulnerable\nCpus_allowed:\t3\n");
        sb.Append("Cpus_allowed_list:\t0-1\nvoluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t5\n");
        return [.. "Name:\t"u8.ToArray(), .. escaped, .. Encoding.ASCII.GetBytes(sb.ToString())];
    }

    public override string ToString() => Shipper.Tests.Support.FuzzBudget.Escaped(Render());
}
