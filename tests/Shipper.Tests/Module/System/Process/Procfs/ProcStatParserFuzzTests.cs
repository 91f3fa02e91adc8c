using global::System.Text;
using CsCheck;
using Shipper.Module.System.Process.Procfs;
using Shipper.Tests.Support;
using Shipper.Watchdog;
using Xunit.Abstractions;

namespace Shipper.Tests.Module.System.Process.Procfs;

/// <summary>
/// Fuzzes the stat parser: well-formed lines with hostile comms and extreme numbers must parse to exactly the
/// fields written; any edit of them must give true or false, allocate nothing (it runs for every process on
/// every poll) and never throw.
/// </summary>
public class ProcStatParserFuzzTests(ITestOutputHelper output)
{
    internal static readonly byte[][] Tokens =
    [
        " "u8.ToArray(), "("u8.ToArray(), ")"u8.ToArray(), ") ("u8.ToArray(), "\n"u8.ToArray(), "\0"u8.ToArray(),
        "-"u8.ToArray(), "-1"u8.ToArray(), "+1"u8.ToArray(), "2147483648"u8.ToArray(), "18446744073709551615"u8.ToArray(),
        "18446744073709551616"u8.ToArray(), "99999999999999999999999"u8.ToArray(), "0x10"u8.ToArray(), "  "u8.ToArray(),
    ];

    [Fact]
    public void WellFormedLinesParseToTheFieldsWritten()
    {
        FuzzBudget.Run(output, "stat well-formed", ProcStatLine.Any, line =>
        {
            var content = line.Render();
            var parsed = ProcStatParser.TryParse(content, out var stat);
            Assert.True(parsed, $"refused {FuzzBudget.Escaped(content)}");
            Assert.Equal(line.Pid, stat.Pid);
            Assert.Equal(line.Comm, content.AsSpan(stat.CommStart, stat.CommLength).ToArray());
            Assert.Equal(Encoding.UTF8.GetString(line.Comm), ProcStatParser.DecodeComm(content, stat));
            Assert.Equal((char)line.State, stat.State);
            Assert.Equal(line.ParentPid, stat.ParentPid);
            Assert.Equal(line.ProcessGroupId, stat.ProcessGroupId);
            Assert.Equal(line.SessionId, stat.SessionId);
            Assert.Equal(line.TtyNr, stat.TtyNr);
            Assert.Equal(line.Flags, stat.Flags);
            Assert.Equal(line.UserTicks, stat.UserTicks);
            Assert.Equal(line.SystemTicks, stat.SystemTicks);
            Assert.Equal(line.NumThreads, stat.NumThreads);
            Assert.Equal(line.StartTimeTicks, stat.StartTimeTicks);

            Assert.Equal(line.HasArgArea, ProcStatParser.TryParseArgArea(content, out var argStart, out var argEnd, out var stackStart));
            if (line.HasArgArea)
            {
                // startstack is field 28: Tail[5].
                Assert.Equal((line.Tail[25], line.Tail[26], line.Tail[5]), (argStart, argEnd, stackStart));
            }

            // The watchdog reads its worker's CPU time through the same parser; a sum it cannot hold as a
            // TimeSpan is refused, not wrapped.
            var most = (ulong)(long.MaxValue / TimeSpan.TicksPerSecond);
            var fits = line.UserTicks <= most && line.SystemTicks <= most - line.UserTicks;
            Assert.Equal(fits, ProcfsUsageReader.TryParseStatCpuTicks(content, out var ticks));
            Assert.Equal(fits ? (long)(line.UserTicks + line.SystemTicks) : 0, ticks);
        }, line => line.ToString());
    }

    [Fact]
    public void EditedLinesAreAcceptedOrRefusedWithoutAllocating()
    {
        var gen = Gen.Select(ProcStatLine.Any, ByteMutation.Edits(6), (line, edits) => ByteMutation.Apply(line.Render(), edits, Tokens));
        FuzzBudget.Run(output, "stat edited", gen, content =>
        {
            var parsed = false;
            ProcStat stat = default;
            var allocated = FuzzBudget.Allocated(() =>
            {
                parsed = ProcStatParser.TryParse(content, out stat);
                ProcStatParser.TryParseArgArea(content, out _, out _, out _);
            });
            Assert.Equal(0, allocated);
            if (!parsed)
            {
                return;
            }

            // Whatever was accepted is one stat line: pid, then the comm between the first '(' and the last ')'.
            Assert.InRange(stat.CommStart, 1, content.Length);
            Assert.InRange(stat.CommStart + stat.CommLength, stat.CommStart, content.Length - 1);
            Assert.Equal((byte)'(', content[stat.CommStart - 1]);
            Assert.Equal((byte)')', content[stat.CommStart + stat.CommLength]);
            Assert.Equal(-1, content.AsSpan(stat.CommStart + stat.CommLength + 1).IndexOf((byte)')'));
            Assert.True(stat.Pid >= 0);
            ProcStatParser.DecodeComm(content, stat);

            if (ProcfsUsageReader.TryParseStatCpuTicks(content, out var ticks))
            {
                Assert.True(ticks >= 0, $"CPU ticks {ticks} from utime {stat.UserTicks} + stime {stat.SystemTicks}");
            }
        }, FuzzBudget.Escaped);
    }
}
