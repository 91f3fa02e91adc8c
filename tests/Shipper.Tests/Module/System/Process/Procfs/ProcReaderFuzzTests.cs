using global::System.Text;
using CsCheck;
using Shipper.Module.System.Process.Procfs;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Module.System.Process.Procfs;

/// <summary>
/// Fuzzes the whole reader over a fake /proc tree: generated and edited stat, status and cmdline files, and
/// link targets with odd characters, read with every entry point. The reader must give a sample for each (values
/// where the files allow, an error naming the file where they do not), never throw, and agree with the parsers.
/// </summary>
public class ProcReaderFuzzTests(ITestOutputHelper output)
{
    private const int Pid = 4242;

    private static readonly Gen<string> LinkTargets = Gen.Frequency<string>(
        (3, Gen.String[Gen.Char['\u0001', '\u007f'], 1, 40]),
        (1, Gen.String[Gen.Char['\u0001', '\uD7FF'], 1, 40]),
        (1, Gen.OneOf("/", "/usr/bin/x (deleted)", "/tmp/a\nb", "mnt:[", "mnt:[]", "mnt:[18446744073709551616]", "mnt:[-1]")));

    private sealed record Tree(byte[] Stat, byte[] Status, byte[] Cmdline, string Exe, string Cwd, string Namespace, int MaxCmdline, bool Missing);

    [Fact]
    public void EveryEntryPointGivesASampleOrAnErrorNamingTheFile()
    {
        var stat = Gen.Frequency<byte[]>(
            (2, ProcStatLine.Any.Select(l => l.Render())),
            (2, Gen.Select(ProcStatLine.Any, ByteMutation.Edits(4), (l, e) => ByteMutation.Apply(l.Render(), e, ProcStatParserFuzzTests.Tokens))));
        var status = Gen.Frequency<byte[]>(
            (2, ProcStatusFile.Any.Select(f => f.Render())),
            (1, Gen.Select(ProcStatusFile.Any, ByteMutation.Edits(4), (f, e) => ByteMutation.Apply(f.Render(), e, [[(byte)'\n'], [(byte)'\t']]))));
        var cmdline = Gen.Byte.Array[0, 300];
        var gen = Gen.Select(stat, status, cmdline, LinkTargets, LinkTargets, LinkTargets, Gen.OneOf(1, 16, 4096, ProcReader.DefaultMaxArgsBytes), Gen.Int[0, 9],
            (s, st, c, exe, cwd, ns, max, missing) => new Tree(s, st, c, exe, cwd, ns, max, missing == 0));

        using var tree = new FakeProcTree();
        FuzzBudget.Run(output, "proc reader", gen, input =>
        {
            var dir = Path.Combine(tree.Root, Pid.ToString());
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }

            tree.AddProcess(Pid);
            tree.WriteFile(Pid, "stat", input.Stat);
            tree.WriteFile(Pid, "status", input.Status);
            if (!input.Missing)
            {
                tree.WriteFile(Pid, "cmdline", input.Cmdline);
            }

            tree.Link(Pid, "exe", input.Exe);
            tree.Link(Pid, "cwd", input.Cwd);
            tree.Link(Pid, "ns/mnt", input.Namespace);

            using var reader = new ProcReader(tree.Root, input.MaxCmdline, processCalls: false);
            var sample = reader.Read(Pid, out var failures);
            var statParsed = ProcStatParser.TryParse(input.Stat, out var parsed);
            Assert.Equal(statParsed, sample.HasStat);
            Assert.Equal(!statParsed, (failures & ProcReadFailures.Stat) != 0);
            if (statParsed)
            {
                Assert.Equal(ProcStatParser.DecodeComm(input.Stat, parsed), sample.Name);
                Assert.Equal(parsed.StartTimeTicks, sample.StartTimeTicks);
            }
            else
            {
                Assert.Contains(sample.Errors!, e => e.Contains($"{tree.Root}/{Pid}/stat"));
            }

            if (input.Missing)
            {
                Assert.Contains(sample.Errors!, e => e.Contains($"{tree.Root}/{Pid}/cmdline"));
            }
            else
            {
                // A command line longer than the limit is cut at it and flagged; one of exactly the limit is whole.
                var cut = input.Cmdline.Length > input.MaxCmdline;
                var expected = cut
                    ? CmdlineDecoder.DecodeTruncated(input.Cmdline.AsSpan(0, input.MaxCmdline))
                    : CmdlineDecoder.Decode(input.Cmdline);
                Assert.Equal(expected, sample.Args);
                Assert.Equal(cut, sample.ArgsTruncated);
            }

            // A missing cmdline means the process was reaped: the reader stops there.
            if (!input.Missing)
            {
                Assert.Equal(input.Exe, sample.Executable);
                Assert.Equal(input.Cwd, sample.WorkingDirectory);
                var statusParsed = ProcStatusParser.TryParse(input.Status, out var status);
                Assert.Equal(statusParsed, sample.Uids is not null);
                if (statusParsed)
                {
                    Assert.Equal(status.UidArray(), sample.Uids);
                }
            }

            // The fork path reads stat alone, the poller only its numbers: both see what Read saw.
            var statOnly = reader.ReadStatOnly(Pid, out var statOnlyFailures, holdOpen: true);
            Assert.Equal(sample.Name, statOnly.Name);
            Assert.Equal(!statParsed, (statOnlyFailures & ProcReadFailures.Stat) != 0);
            Assert.Equal(statParsed, reader.TryReadStat(Pid, out var polled));
            Assert.Equal(parsed, polled);
            reader.Release(Pid);
        }, input => $"stat {FuzzBudget.Escaped(input.Stat)} status {FuzzBudget.Escaped(input.Status)} cmdline {FuzzBudget.Escaped(input.Cmdline)} exe '{input.Exe}' cwd '{input.Cwd}' ns '{input.Namespace}' max {input.MaxCmdline} missing {input.Missing}");
    }
}
