using global::System.Runtime.InteropServices;

namespace Shipper.Tests.Module.System.Process.Netlink;

/// <summary>Builds proc connector datagrams byte by byte, the way the kernel lays them out.</summary>
public static class ProcConnectorBytes
{
    public static byte[] Message(uint what, uint cpu, ulong timestamp, uint sequence, params int[] union) =>
        Message(what, cpu, timestamp, sequence, ack: 0, idx: 1, val: 1, nlType: 3, union);

    public static byte[] Message(uint what, uint cpu, ulong timestamp, uint sequence, uint ack, uint idx, uint val, ushort nlType, int[] union)
    {
        var eventLength = 16 + (union.Length * 4);
        var total = 16 + 20 + eventLength;
        var bytes = new byte[total];
        var span = bytes.AsSpan();
        Put(span, 0, (uint)total);
        Put16(span, 4, nlType);
        Put(span, 8, sequence);
        var cn = span[16..];
        Put(cn, 0, idx);
        Put(cn, 4, val);
        Put(cn, 8, sequence);
        Put(cn, 12, ack);
        Put16(cn, 16, (ushort)eventLength);
        var ev = cn[20..];
        Put(ev, 0, what);
        Put(ev, 4, cpu);
        MemoryMarshal.Write(ev[8..], in timestamp);
        for (var i = 0; i < union.Length; i++)
        {
            Put(ev, 16 + (i * 4), (uint)union[i]);
        }

        return bytes;
    }

    public static byte[] Fork(int parentPid, int parentTgid, int childPid, int childTgid, uint sequence = 0, uint cpu = 0) =>
        Message(0x1, cpu, 1000, sequence, parentPid, parentTgid, childPid, childTgid);

    public static byte[] Exec(int pid, int tgid, uint sequence = 0, uint cpu = 0) => Message(0x2, cpu, 2000, sequence, pid, tgid);

    /// <summary>The full 6.x layout: pid, tgid, exit_code, exit_signal, parent_pid, parent_tgid.</summary>
    public static byte[] Exit(int pid, int tgid, int code, int signal, int parentPid, int parentTgid, uint sequence = 0) =>
        Message(0x80000000, 0, 3000, sequence, pid, tgid, code, signal, parentPid, parentTgid);

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static void Put(Span<byte> span, int offset, uint value) => MemoryMarshal.Write(span[offset..], in value);

    private static void Put16(Span<byte> span, int offset, ushort value) => MemoryMarshal.Write(span[offset..], in value);
}
