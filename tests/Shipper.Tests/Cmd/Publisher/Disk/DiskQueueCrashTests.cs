using System.Buffers;
using System.Globalization;
using System.Text;
using Shipper.Config;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Publisher.Disk;
using Shipper.Tests.Cmd.Outputs.Elasticsearch;
using Shipper.Tests.Cmd.Watchdog;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// The disk queue killed with SIGKILL at random moments, in a child process that adds numbered events to 4 KiB
/// segments (a rollover every few events) and says on its standard output, line by line, what the queue has
/// written (<c>W count</c>) and, when it also plays the output, what it read (<c>R n</c>, before acknowledging)
/// and what is acknowledged (<c>A n</c>, once <see cref="DiskQueue.Done"/> has returned). After several rounds
/// the queue is opened here and drained: nothing written may be missing, nothing may come back damaged, and
/// nothing acknowledged may come back at all.
/// </summary>
public sealed class DiskQueueCrashTests : IDisposable
{
    private const int Rounds = 6;
    private const int RoundSpan = 100_000; // round r adds events r * RoundSpan + 0, 1, 2...
    private const int PerRound = 5000;
    private const int TornNumber = 999_999;

    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public DiskQueueCrashTests()
    {
        _path = _dir.Combine("queue");
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task KilledWhileWritingAndRollingItKeepsEverythingItHadWritten()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var rounds = new List<Round>();
        for (var r = 0; r < Rounds; r++)
        {
            rounds.Add(await RunRoundAsync(r, acknowledge: false, random, waitFor: r == Rounds - 1 ? "W " : null));
        }

        // A kill in the middle of a write(2) leaves half a record; make sure there is one at the end.
        AppendTornRecord();

        await using var queue = new QueueUnderTest(Settings(_path));
        var drained = await queue.DrainAsync();
        var numbers = drained.Select(QueueUnderTest.NumberOf).ToList();
        var context = Describe(seed, rounds, numbers);

        Assert.True(rounds.Sum(r => r.Written) > 0, $"no kill landed after a write: {context}");
        Assert.True(IsIncreasing(numbers), $"out of order or twice: {context}");
        AssertNoGap(rounds, numbers, context);
        Assert.DoesNotContain(TornNumber, numbers);
        AssertDocumentsIntact(drained);
        Assert.Equal(drained.Count, queue.Queue.Recovered);

        // Nothing was acknowledged, so each round found exactly what the rounds before it had left.
        for (var r = 1; r < Rounds; r++)
        {
            Assert.True(rounds[r].Recovered == numbers.Count(n => n / RoundSpan < r), $"round {r} recovered {rounds[r].Recovered}: {context}");
        }

        var corrupt = queue.Metric("queue.disk.corrupt_records");
        Assert.True(corrupt >= 1 && corrupt <= Rounds + 1, $"corrupt_records {corrupt}: {context}");
        Assert.Contains(queue.Log.Lines, l => l.Contains("a torn or damaged record"));
    }

    [Fact]
    public async Task KilledWhileAcknowledgingItSendsAgainOnlyWhatWasNotSaved()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var rounds = new List<Round>();
        for (var r = 0; r < Rounds; r++)
        {
            rounds.Add(await RunRoundAsync(r, acknowledge: true, random, waitFor: r == Rounds - 1 ? "A " : null));
        }

        await using var queue = new QueueUnderTest(Settings(_path));
        var drained = await queue.DrainAsync();
        var final = drained.Select(QueueUnderTest.NumberOf).ToList();
        var context = Describe(seed, rounds, final);

        Assert.True(rounds.Sum(r => r.Acknowledged.Count) > 0, $"no kill landed after an acknowledgement: {context}");
        Assert.All(rounds, r => Assert.True(r.Bad.Count == 0, $"round {r.Number} read damaged events {string.Join(",", r.Bad)}: {context}"));
        AssertDocumentsIntact(drained);
        Assert.True(IsIncreasing(final), $"final drain out of order or twice: {context}");
        Assert.Equal(drained.Count, queue.Queue.Recovered);

        // Every run hands each event out once, in order; an acknowledged (and so saved) event never comes back.
        for (var r = 0; r < Rounds; r++)
        {
            Assert.True(IsIncreasing(rounds[r].Read), $"round {r} read out of order or twice: {context}");
            foreach (var later in rounds.Skip(r + 1).Select(x => x.Read).Append(final))
            {
                var again = later.Where(rounds[r].Acknowledged.Contains).ToList();
                Assert.True(again.Count == 0, $"acknowledged in round {r} and sent again: {string.Join(",", again.Take(20))}: {context}");
            }
        }

        // Nothing lost: every event a round wrote was read by some round or is still in the queue.
        AssertNoGap(rounds, rounds.SelectMany(r => r.Read).Concat(final).Distinct().ToList(), context);
    }

    /// <summary>
    /// In the child: opens the queue at <c>args[0]</c> and adds the events of round <c>args[1]</c> until killed;
    /// with <c>args[2]</c> = <c>ack</c> also reads and acknowledges them as an output would.
    /// </summary>
    internal static string WriteUntilKilled(string[] args)
    {
        RunChildAsync(args[0], int.Parse(args[1], CultureInfo.InvariantCulture), args[2] == "ack").GetAwaiter().GetResult();
        return "";
    }

    private static async Task RunChildAsync(string path, int round, bool acknowledge)
    {
        // Straight to file descriptor 1, one write(2) per report: what the parent has read was said before the kill.
        using var stdout = Console.OpenStandardOutput();
        var gate = new object();
        void Say(string text)
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            lock (gate)
            {
                stdout.Write(bytes);
            }
        }

        var metrics = new MetricsRegistry();
        var queue = new DiskQueue(Settings(path), TestDocuments.Writer, metrics, Logger.Null, TimeProvider.System);
        queue.Open();
        var added = metrics.Counter("queue.added.events");
        Say($"open {queue.Recovered}\n");

        var reporter = new Thread(() =>
        {
            long said = 0;
            while (true)
            {
                // Read after the write(2) returned: every event it counts is in the file (the page cache survives us).
                var now = added.Value;
                if (now != said)
                {
                    Say($"W {now}\n");
                    said = now;
                }

                Thread.Sleep(1);
            }
        }) { IsBackground = true };
        reporter.Start();

        if (acknowledge)
        {
            _ = Task.Run(async () =>
            {
                var batch = new List<Event>();
                var report = new StringBuilder();
                while (await queue.Reader.WaitToReadAsync())
                {
                    batch.Clear();
                    while (batch.Count < 32 && queue.Reader.TryRead(out var evt))
                    {
                        batch.Add(evt);
                    }

                    report.Clear();
                    foreach (var evt in batch)
                    {
                        var document = QueueUnderTest.DocumentOf(evt);
                        var number = TestDocuments.SequenceOf(document);
                        var intact = document == TestDocuments.Expected(TestDocuments.Process(number));
                        report.Append(CultureInfo.InvariantCulture, $"{(intact ? "R" : "BAD")} {number}\n");
                    }

                    Say(report.ToString());
                    queue.Done(batch, Array.Empty<Event>());
                    Say(report.Replace("R ", "A ").ToString());
                }
            });
        }

        for (var i = 0; i < PerRound; i++)
        {
            await queue.AddAsync(TestDocuments.Process(round * RoundSpan + i), CancellationToken.None);
        }

        await Task.Delay(Timeout.Infinite);
    }

    private static DiskQueueSettings Settings(string path) => QueueUnderTest.Settings(path, maxSize: 256L * 1024 * 1024, segmentSize: 4096);

    /// <summary>
    /// Runs one child and kills it a random moment after it opened the queue, or after it first said
    /// <paramref name="waitFor"/> (so that at least one round gets that far however slow the machine is).
    /// </summary>
    private async Task<Round> RunRoundAsync(int number, bool acknowledge, Random random, string? waitFor)
    {
        using var child = InChildProcess.Start(nameof(WriteUntilKilled), new Dictionary<string, string>(), _path, number.ToString(CultureInfo.InvariantCulture), acknowledge ? "ack" : "write");
        var stderr = child.StandardError.ReadToEndAsync();
        var output = new MemoryStream();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var readyText = "\n" + (waitFor ?? "");
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await child.StandardOutput.BaseStream.ReadAsync(buffer)) > 0)
            {
                output.Write(buffer, 0, read);
                if (!ready.Task.IsCompleted && Encoding.ASCII.GetString(output.GetBuffer(), 0, (int)output.Length).Contains(readyText, StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            }
        });

        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await Task.Delay(random.Next(0, 300));
            if (child.HasExited)
            {
                Assert.Fail($"round {number}: the child ended before it was killed: {await stderr}");
            }
        }
        finally
        {
            LibCForTests.Kill(child.Id, 9);
            await child.WaitForExitAsync();
            await reading;
        }

        // Only whole lines: a line cut by the kill was not said.
        var text = Encoding.ASCII.GetString(output.ToArray());
        var lines = text.Split('\n')[..^1];
        var round = new Round(number);
        foreach (var line in lines)
        {
            var space = line.IndexOf(' ');
            var value = long.Parse(line.AsSpan(space + 1), CultureInfo.InvariantCulture);
            switch (line[..space])
            {
                case "open":
                    round.Recovered = value;
                    break;
                case "W":
                    round.Written = Math.Max(round.Written, value);
                    break;
                case "R":
                    round.Read.Add((int)value);
                    break;
                case "A":
                    round.Acknowledged.Add((int)value);
                    break;
                default:
                    round.Bad.Add((int)value);
                    break;
            }
        }

        Assert.Equal(137, child.ExitCode); // 128 + SIGKILL: it was our kill that ended it
        return round;
    }

    private void AppendTornRecord()
    {
        var newest = Directory.GetFiles(_path, "*" + QueueDirectory.SegmentSuffix)
            .MaxBy(f => long.Parse(Path.GetFileNameWithoutExtension(f), CultureInfo.InvariantCulture))!;
        var frame = new ArrayBufferWriter<byte>();
        new RecordCodec(TestDocuments.Writer).Append(frame, TestDocuments.Process(TornNumber));
        using var file = new FileStream(newest, FileMode.Append);
        file.Write(frame.WrittenSpan[..(frame.WrittenCount / 2)]);
    }

    /// <summary>Every event a round reported written is there, and what is there of a round has no holes.</summary>
    private static void AssertNoGap(List<Round> rounds, List<int> present, string context)
    {
        foreach (var round in rounds)
        {
            var indexes = present.Where(n => n / RoundSpan == round.Number).Select(n => n % RoundSpan).Order().ToList();
            Assert.True(indexes.Count >= round.Written, $"round {round.Number} wrote {round.Written}, {indexes.Count} are left: {context}");
            Assert.True(indexes.SequenceEqual(Enumerable.Range(0, indexes.Count)), $"round {round.Number} has a hole: {context}");
        }
    }

    private static void AssertDocumentsIntact(List<Event> events)
    {
        foreach (var evt in events)
        {
            Assert.Equal(TestDocuments.Expected(TestDocuments.Process(QueueUnderTest.NumberOf(evt))), QueueUnderTest.DocumentOf(evt));
        }
    }

    private static bool IsIncreasing(List<int> numbers) => numbers.Zip(numbers.Skip(1)).All(p => p.First < p.Second);

    private string Describe(int seed, List<Round> rounds, List<int> final)
    {
        var segments = Directory.GetFiles(_path, "*" + QueueDirectory.SegmentSuffix).Length;
        var perRound = rounds.Select(r => $"[{r.Number}: recovered {r.Recovered}, wrote {r.Written}, read {r.Read.Count}, acknowledged {r.Acknowledged.Count}]");
        return $"seed {seed}; {string.Join(" ", perRound)}; final drain {final.Count}; {segments} segment files";
    }

    /// <summary>What one child said before it was killed.</summary>
    private sealed class Round
    {
        public Round(int number) => Number = number;

        public int Number { get; }

        public long Recovered { get; set; }

        public long Written { get; set; }

        public List<int> Read { get; } = new();

        public HashSet<int> Acknowledged { get; } = new();

        public List<int> Bad { get; } = new();
    }
}
