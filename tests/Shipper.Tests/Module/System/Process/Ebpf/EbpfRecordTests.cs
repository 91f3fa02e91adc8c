using global::System.Buffers.Binary;
using global::System.Text;
using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Ebpf;

namespace Shipper.Tests.Module.System.Process.Ebpf;

/// <summary>Decoding ring buffer records: what the kernel writes, and bytes that do not add up.</summary>
public class EbpfRecordTests
{
    [Fact]
    public void AnExecRecordBecomesTheSampleTheNetlinkSourceWouldHaveRead()
    {
        var record = Exec("/usr/bin/sleep", "/tmp/x", "sleep\u00001\u0000", flags: EbpfRecord.ExecutableDeleted);
        Assert.True(EbpfRecord.TryDecode(record, 100, out var e, out var sample));
        Assert.Equal(ProcEventType.Exec, e.Type);
        Assert.Equal(4242, e.ProcessPid);
        Assert.Equal(1_000_000_123UL, e.TimestampNs);
        Assert.Equal(new[] { "sleep", "1" }, sample!.Args);
        Assert.Equal("/usr/bin/sleep (deleted)", sample.Executable);
        Assert.Equal("/tmp/x", sample.WorkingDirectory);
        Assert.Equal("sleep", sample.Name);
        Assert.Equal(12_345_678_901UL, sample.StartBootNanoseconds);
        Assert.Equal(1234UL, sample.StartTimeTicks); // 12.345678901 s in 10 ms ticks, rounded down as the kernel does
        Assert.Equal(new uint[] { 1, 2, 3, 4 }, sample.Uids);
        Assert.Equal(254UL << 8, sample.ExecutableIdentity!.Value.Device); // major 254, minor 0 in glibc's encoding
        Assert.Null(sample.Errors);
    }

    [Fact]
    public void ACutCommandLineIsFlaggedWithItsTrueCount()
    {
        var record = Exec("/bin/sh", "/", "sh\u0000-c\u0000abc", flags: EbpfRecord.ArgsTruncated, argc: 9);
        Assert.True(EbpfRecord.TryDecode(record, 100, out _, out var sample));
        Assert.True(sample!.ArgsTruncated);
        Assert.Equal(new[] { "sh", "-c", "abc" }, sample.Args);
        Assert.Equal(9, sample.ArgsTrueCount);
    }

    [Fact]
    public void RecordsThatDoNotAddUpAreRefused()
    {
        var record = Exec("/bin/sh", "/", "sh\u0000");
        Assert.False(EbpfRecord.TryDecode(record.AsSpan(0, EbpfRecord.HeaderSize - 1), 100, out _, out _));
        Assert.False(EbpfRecord.TryDecode(record.AsSpan(0, record.Length - 1), 100, out _, out _));
        var unknown = (byte[])record.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(unknown, 99);
        Assert.False(EbpfRecord.TryDecode(unknown, 100, out _, out _));
        var huge = (byte[])record.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(huge.AsSpan(208), uint.MaxValue);
        Assert.False(EbpfRecord.TryDecode(huge, 100, out _, out _));

        // Any bytes at all: refused or decoded, never thrown.
        var random = new Random(16);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = (byte[])record.Clone();
            bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            var length = random.Next(bytes.Length + 1);
            EbpfRecord.TryDecode(bytes.AsSpan(0, length), 100, out _, out _);
        }
    }

    [Fact]
    public void AnExitIsTheThreadGroupsWithTheWaitStatus()
    {
        var record = new byte[EbpfRecord.HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(record, EbpfRecord.KindExit);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(56), 4250); // the last thread
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(60), 4242);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(84), 3 << 8);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(88), 17);
        Assert.True(EbpfRecord.TryDecode(record, 100, out var e, out var sample));
        Assert.Null(sample);
        Assert.Equal(ProcEventType.Exit, e.Type);
        Assert.Equal(4242, e.Pid);
        Assert.Equal(4242, e.ProcessPid);
        Assert.Equal(3u << 8, e.ExitCode);
        Assert.Equal(17u, e.ExitSignal);
    }

    private static byte[] Exec(string exe, string cwd, string args, uint flags = 0, uint argc = 0)
    {
        var exeBytes = Encoding.UTF8.GetBytes(exe);
        var cwdBytes = Encoding.UTF8.GetBytes(cwd);
        var argBytes = Encoding.UTF8.GetBytes(args);
        var record = new byte[EbpfRecord.HeaderSize + exeBytes.Length + cwdBytes.Length + argBytes.Length];
        var span = record.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, EbpfRecord.KindExec);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(span[8..], 1_000_000_123);
        BinaryPrimitives.WriteUInt64LittleEndian(span[16..], 12_345_678_901);
        BinaryPrimitives.WriteUInt32LittleEndian(span[56..], 4242);
        BinaryPrimitives.WriteUInt32LittleEndian(span[60..], 4242);
        BinaryPrimitives.WriteUInt32LittleEndian(span[64..], 1);
        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[(92 + (4 * i))..], (uint)(i + 1));
            BinaryPrimitives.WriteUInt32LittleEndian(span[(108 + (4 * i))..], (uint)(i + 1));
        }

        Encoding.ASCII.GetBytes("sleep").CopyTo(span[124..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[140..], 0x81ed);
        BinaryPrimitives.WriteUInt32LittleEndian(span[196..], 254u << 20);
        BinaryPrimitives.WriteUInt32LittleEndian(span[200..], (uint)exeBytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[204..], (uint)cwdBytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[208..], (uint)argBytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[216..], argc);
        exeBytes.CopyTo(span[EbpfRecord.HeaderSize..]);
        cwdBytes.CopyTo(span[(EbpfRecord.HeaderSize + exeBytes.Length)..]);
        argBytes.CopyTo(span[(EbpfRecord.HeaderSize + exeBytes.Length + cwdBytes.Length)..]);
        return record;
    }
}
