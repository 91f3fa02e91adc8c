using global::System.Text;
using CsCheck;

namespace Shipper.Tests.Module.System.Process.Procfs;

/// <summary>
/// The fields of one generated <c>/proc/&lt;pid&gt;/stat</c> line, written out the way the kernel's
/// <c>do_task_stat</c> prints them (comm raw, between parentheses; numbers in decimal). <see cref="Tail"/> holds
/// fields 23 onwards, as many as a kernel of some age prints.
/// </summary>
public sealed record ProcStatLine(
    int Pid, byte[] Comm, byte State, int ParentPid, int ProcessGroupId, int SessionId, int TtyNr, long Tpgid,
    uint Flags, ulong UserTicks, ulong SystemTicks, long NumThreads, ulong StartTimeTicks, ulong[] Tail)
{
    private static readonly Gen<int> AnyInt = Gen.Frequency<int>(
        (4, Gen.Int[0, 4_194_304]), (1, Gen.Int), (1, Gen.OneOf(int.MinValue, int.MaxValue, -1, 0)));

    private static readonly Gen<ulong> AnyULong = Gen.Frequency<ulong>(
        (4, Gen.ULong[0, 1_000_000]), (1, Gen.ULong), (1, Gen.OneOf(ulong.MaxValue, (ulong)long.MaxValue, (ulong)long.MaxValue + 1, 0UL)));

    private static readonly Gen<long> AnyLong = Gen.Frequency<long>((4, Gen.Long[-1, 1_000_000]), (1, Gen.Long));

    /// <summary>comm: anything but NUL, usually short (TASK_COMM_LEN is 16) but longer names are fuzzed too.</summary>
    public static readonly Gen<byte[]> Comms = Gen.Frequency<byte[]>(
        (3, Gen.Byte[1, 255].Array[0, 15]),
        (2, Gen.OneOf(" ()\n)( S1".Select(c => (byte)c).ToArray()).Array[0, 15]),
        (1, Gen.Byte[1, 255].Array[16, 64]));

    private static readonly Gen<byte> States = Gen.Frequency<byte>(
        (5, Gen.OneOf("RSDZTtXxKWPI".Select(c => (byte)c).ToArray())), (1, Gen.Byte[0x21, 0xff].Select(b => b == (byte)')' ? (byte)'R' : b))); // never ')': the kernel's states are letters

    public static readonly Gen<ProcStatLine> Any = CsCheck.Gen.Select(
        CsCheck.Gen.Select(CsCheck.Gen.Int[0, 4_194_304], Comms, States, AnyInt, AnyInt, AnyInt, AnyInt),
        CsCheck.Gen.Select(AnyLong, CsCheck.Gen.UInt, AnyULong, AnyULong, AnyLong, AnyULong, AnyULong.Array[0, 32]),
        (a, b) => new ProcStatLine(a.Item1, a.Item2, a.Item3, a.Item4, a.Item5, a.Item6, a.Item7,
            b.Item1, b.Item2, b.Item3, b.Item4, b.Item5, b.Item6, b.Item7));

    /// <summary>arg_start and arg_end are fields 48 and 49: Tail[25] and Tail[26].</summary>
    public bool HasArgArea => Tail.Length >= 27;

    public byte[] Render()
    {
        var head = Encoding.ASCII.GetBytes($"{Pid} (");
        var sb = new StringBuilder();
        sb.Append(") ").Append((char)0).Append(' ')
            .Append(ParentPid).Append(' ').Append(ProcessGroupId).Append(' ').Append(SessionId).Append(' ').Append(TtyNr).Append(' ')
            .Append(Tpgid).Append(' ').Append(Flags).Append(" 11 12 13 14 ")
            .Append(UserTicks).Append(' ').Append(SystemTicks).Append(" 0 0 20 0 ")
            .Append(NumThreads).Append(" 0 ").Append(StartTimeTicks);
        foreach (var field in Tail)
        {
            sb.Append(' ').Append(field);
        }

        sb.Append('\n');
        var tail = Encoding.ASCII.GetBytes(sb.ToString());
        tail[2] = State; // the placeholder NUL: the state is one raw byte
        return [.. head, .. Comm, .. tail];
    }

    public override string ToString() => Shipper.Tests.Support.FuzzBudget.Escaped(Render());
}
