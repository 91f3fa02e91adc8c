using global::System.Text;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Tests.Module.System.Process.Procfs;

public class ProcStatParserTests
{
    private const string Tail = "1 2 3 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 123456 1000 10 18446744073709551615";

    [Fact]
    public void ParsesOurOwnStat()
    {
        var content = File.ReadAllBytes($"/proc/{Environment.ProcessId}/stat");
        Assert.True(ProcStatParser.TryParse(content, out var stat));
        Assert.Equal(Environment.ProcessId, stat.Pid);
        Assert.Equal(GetParentPidFromStatus(), stat.ParentPid);
        Assert.True(stat.StartTimeTicks > 0);
        Assert.True(stat.NumThreads > 1);
        Assert.False(stat.IsKernelThread);
    }

    [Fact]
    public void FlagsKthreaddAsKernelThread()
    {
        Assert.True(ProcStatParser.TryParse(File.ReadAllBytes("/proc/2/stat"), out var stat));
        Assert.True(stat.IsKernelThread);
        Assert.Equal("kthreadd", ProcStatParser.DecodeComm(File.ReadAllBytes("/proc/2/stat"), stat));
    }

    [Theory]
    [InlineData("bash")]
    [InlineData("a b")]
    [InlineData("a) (b\nc")]
    [InlineData(") (")]
    [InlineData("((((")]
    [InlineData("))))")]
    [InlineData("x) R 1 2 3 (")]
    [InlineData("")]
    public void HostileCommIsDelimitedByTheLastParenthesis(string comm)
    {
        var content = Encoding.UTF8.GetBytes($"4242 ({comm}) S {Tail}\n");
        Assert.True(ProcStatParser.TryParse(content, out var stat));
        Assert.Equal(comm, ProcStatParser.DecodeComm(content, stat));
        Assert.Equal(4242, stat.Pid);
        Assert.Equal('S', stat.State);
        Assert.Equal(1, stat.ParentPid);
        Assert.Equal(2, stat.ProcessGroupId);
        Assert.Equal(3, stat.SessionId);
        Assert.Equal(0, stat.TtyNr);
        Assert.Equal(4194560u, stat.Flags);
        Assert.Equal(7ul, stat.UserTicks);
        Assert.Equal(3ul, stat.SystemTicks);
        Assert.Equal(1, stat.NumThreads);
        Assert.Equal(123456ul, stat.StartTimeTicks);
    }

    [Fact]
    public void InvalidUtf8CommBecomesReplacementCharacters()
    {
        var content = Encoding.ASCII.GetBytes($"7 (ab) S {Tail}").ToList();
        content.InsertRange(3, new byte[] { 0xff, 0xfe });
        var bytes = content.ToArray();
        Assert.True(ProcStatParser.TryParse(bytes, out var stat));
        Assert.Equal("\uFFFD\uFFFDab", ProcStatParser.DecodeComm(bytes, stat));
    }

    [Theory]
    [InlineData("")]
    [InlineData("4242")]
    [InlineData("4242 (bash")]
    [InlineData("4242 bash) S 1 2 3")]
    [InlineData("(bash) S " + Tail)]
    [InlineData("x (bash) S " + Tail)]
    [InlineData("4242 (bash)S " + Tail)]
    [InlineData("4242 (bash) S 1 2 3 0 -1")]
    [InlineData("4242 (bash) SS " + Tail)]
    [InlineData("4242 (bash) S 1 x 3 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 123456")]
    [InlineData("4242 (bash) S 1 2 3 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 -5")]
    [InlineData("4242 (bash) S 1 2 3 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 99999999999999999999999")]
    public void MalformedContentIsRejectedWithoutThrowing(string text) =>
        Assert.False(ProcStatParser.TryParse(Encoding.UTF8.GetBytes(text), out _));

    [Fact]
    public void EveryTruncationOfARealLineIsHandled()
    {
        var content = File.ReadAllBytes($"/proc/{Environment.ProcessId}/stat");
        var text = Encoding.Latin1.GetString(content); // one char per byte: text indices are byte offsets

        // The expected fields, from splitting the text: comm between the first '(' and the last ')', then
        // fields 3 (state) .. 22 (starttime) separated by single spaces.
        var open = text.IndexOf('(');
        var close = text.LastIndexOf(')');
        var fields = text[(close + 2)..].TrimEnd('\n').Split(' ');
        var full = new ProcStat(int.Parse(text[..(open - 1)]), open + 1, close - open - 1, fields[3 - 3][0],
            int.Parse(fields[4 - 3]), int.Parse(fields[5 - 3]), int.Parse(fields[6 - 3]), int.Parse(fields[7 - 3]),
            uint.Parse(fields[9 - 3]), ulong.Parse(fields[14 - 3]), ulong.Parse(fields[15 - 3]),
            long.Parse(fields[20 - 3]), ulong.Parse(fields[22 - 3]));
        var startTimeAt = close + 2 + fields.Take(22 - 3).Sum(f => f.Length + 1);
        Assert.Equal(fields[22 - 3], text.Substring(startTimeAt, fields[22 - 3].Length));

        for (var length = 0; length <= content.Length; length++)
        {
            var parsed = ProcStatParser.TryParse(content.AsSpan(0, length), out var stat);
            if (length <= startTimeAt)
            {
                // Cut anywhere before starttime's first digit: a field the dataset needs is missing.
                Assert.False(parsed, $"a line cut after {length} of {content.Length} bytes parsed");
                Assert.Equal(default, stat);
            }
            else
            {
                // Cut inside starttime, the digits left read as a smaller number (nothing tells them from a
                // whole field; the reader reads stat to its end, so a sample never sees such a line). Cut after
                // it, the line parses whole.
                var digits = Math.Min(length - startTimeAt, fields[22 - 3].Length);
                Assert.True(parsed, $"a line cut after {length} of {content.Length} bytes did not parse");
                Assert.Equal(full with { StartTimeTicks = ulong.Parse(fields[22 - 3][..digits]) }, stat);
            }
        }
    }

    private static int GetParentPidFromStatus()
    {
        foreach (var line in File.ReadLines($"/proc/{Environment.ProcessId}/status"))
        {
            if (line.StartsWith("PPid:", StringComparison.Ordinal))
            {
                return int.Parse(line[5..].Trim());
            }
        }

        throw new InvalidOperationException("no PPid line");
    }
}
