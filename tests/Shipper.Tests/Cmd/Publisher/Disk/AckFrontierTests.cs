using CsCheck;
using Shipper.Publisher.Disk;

namespace Shipper.Tests.Cmd.Publisher.Disk;

public class AckFrontierTests
{
    private static readonly QueuePosition Start = new(1, SegmentHeader.Size);

    private static QueuePosition End(int record) => new(1, SegmentHeader.Size + 100L * (record + 1));

    [Fact]
    public void OutOfOrderAcknowledgementsMoveTheFrontierOnlyOverAnUnbrokenRun()
    {
        var frontier = new AckFrontier(Start);
        var sequences = Enumerable.Range(0, 5).Select(i => frontier.Add(End(i))).ToArray();
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, sequences);

        Assert.False(frontier.MarkDone(2));
        Assert.False(frontier.MarkDone(1));
        Assert.Equal(Start, frontier.Position);
        Assert.Equal(5, frontier.Outstanding);

        Assert.True(frontier.MarkDone(0));
        Assert.Equal(End(2), frontier.Position);
        Assert.Equal(2, frontier.Outstanding);

        Assert.False(frontier.MarkDone(4));
        Assert.Equal(End(2), frontier.Position);
        Assert.True(frontier.MarkDone(3));
        Assert.Equal(End(4), frontier.Position);
        Assert.Equal(0, frontier.Outstanding);
    }

    [Fact]
    public void AcknowledgingAgainOrSomethingNeverHandedOutChangesNothing()
    {
        var frontier = new AckFrontier(Start);
        frontier.Add(End(0));
        frontier.Add(End(1));
        Assert.True(frontier.MarkDone(0));

        Assert.False(frontier.MarkDone(0)); // passed already
        Assert.False(frontier.MarkDone(7)); // not handed out (a record read before the reader restarted)
        Assert.False(frontier.MarkDone(-1));
        Assert.Equal(End(0), frontier.Position);
        Assert.Equal(1, frontier.Outstanding);

        // The sequence number 7 was not reserved by the stray acknowledgement: the next entry still gets 2.
        Assert.Equal(2, frontier.Add(End(2)));
        Assert.True(frontier.MarkDone(1));
        Assert.Equal(End(1), frontier.Position);
    }

    [Fact]
    public void AMarkerAddedDoneMovesAtOnceOnlyWhenNothingIsOutstanding()
    {
        var frontier = new AckFrontier(Start);
        var nextSegment = new QueuePosition(2, SegmentHeader.Size);
        Assert.True(frontier.AddDone(End(0))); // a skipped stretch with nothing before it
        Assert.Equal(End(0), frontier.Position);

        var record = frontier.Add(End(1));
        Assert.False(frontier.AddDone(nextSegment)); // the end of the segment, behind an unacknowledged record
        Assert.Equal(End(0), frontier.Position);
        var nextRecord = frontier.Add(new QueuePosition(2, 500));

        // Acknowledging the record carries the frontier over the marker, into the next segment, and no further.
        Assert.True(frontier.MarkDone(record));
        Assert.Equal(nextSegment, frontier.Position);
        Assert.True(frontier.MarkDone(nextRecord));
        Assert.Equal(new QueuePosition(2, 500), frontier.Position);
    }

    [Fact]
    public void GrowsPastItsFirstThousandEntriesWithoutLosingOrder()
    {
        var frontier = new AckFrontier(Start);

        // Move the ring's head away from slot 0 first, so growing has to unwrap it.
        for (var i = 0; i < 700; i++)
        {
            Assert.True(frontier.MarkDone(frontier.Add(End(i))));
        }

        const int Many = 5000;
        var sequences = new long[Many];
        for (var i = 0; i < Many; i++)
        {
            // Every tenth entry is a marker added done, as the reader adds for skipped stretches.
            if (i % 10 == 9)
            {
                Assert.False(frontier.AddDone(End(700 + i)));
                sequences[i] = -1;
            }
            else
            {
                sequences[i] = frontier.Add(End(700 + i));
            }
        }

        Assert.Equal(Many, frontier.Outstanding);

        // Everything but the oldest, newest first: nothing may move until the oldest is done.
        for (var i = Many - 1; i > 0; i--)
        {
            if (sequences[i] >= 0)
            {
                Assert.False(frontier.MarkDone(sequences[i]));
            }
        }

        Assert.Equal(End(699), frontier.Position);
        Assert.True(frontier.MarkDone(sequences[0]));
        Assert.Equal(End(700 + Many - 1), frontier.Position);
        Assert.Equal(0, frontier.Outstanding);
    }

    /// <summary>
    /// Against a model (a plain list of entries and their done flags): any interleaving of adds, markers and
    /// acknowledgements in any order leaves the frontier at the end of the longest done prefix.
    /// </summary>
    [Fact]
    public void MatchesAListOfDoneFlagsUnderAnyOrder()
    {
        var scripts =
            from steps in Gen.Int[1, 3000]
            from seed in Gen.Int
            select (steps, seed);
        scripts.Sample((steps, seed) =>
        {
            var random = new Random(seed);
            var frontier = new AckFrontier(Start);
            var ends = new List<QueuePosition>();
            var done = new List<bool>();
            var passed = 0;
            var expected = Start;
            for (var step = 0; step < steps; step++)
            {
                var choice = random.Next(10);
                bool moved;
                if (choice < 4 || ends.Count == passed)
                {
                    var end = End(ends.Count);
                    var isMarker = choice == 0;
                    var sequence = isMarker ? -1 : frontier.Add(end);
                    moved = isMarker && frontier.AddDone(end);
                    Assert.True(isMarker || sequence == ends.Count, $"step {step}: sequence {sequence}, expected {ends.Count}");
                    ends.Add(end);
                    done.Add(isMarker);
                }
                else
                {
                    // Acknowledge a random outstanding entry; sometimes one acknowledged before.
                    var index = random.Next(passed, ends.Count);
                    var again = done[index];
                    moved = frontier.MarkDone(index);
                    Assert.False(again && moved, $"step {step}: acknowledging {index} again moved the frontier");
                    done[index] = true;
                }

                var before = passed;
                while (passed < ends.Count && done[passed])
                {
                    expected = ends[passed];
                    passed++;
                }

                Assert.True(moved == (passed != before), $"step {step}: MarkDone/AddDone said moved={moved}, the model passed {passed - before}");
                Assert.Equal(expected, frontier.Position);
                Assert.Equal(ends.Count - passed, frontier.Outstanding);
            }
        }, iter: 200);
    }
}
