using global::System.Text;
using CsCheck;
using Shipper.Outputs.Elasticsearch;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>
/// Fuzzes the <c>_bulk</c> reply parser: well-formed replies must give every item's status and error, in order;
/// replies with values of the wrong type, huge numbers, deep nesting, keys written twice, cut short or edited
/// byte by byte must give items or the parser's <see cref="FormatException"/>, nothing else, in work linear in
/// the reply.
/// </summary>
public class BulkResponseParserFuzzTests(ITestOutputHelper output)
{
    private static readonly byte[][] Tokens =
    [
        "{"u8.ToArray(), "}"u8.ToArray(), "["u8.ToArray(), "]"u8.ToArray(), ","u8.ToArray(), ":"u8.ToArray(), "\""u8.ToArray(),
        "\"status\":"u8.ToArray(), "\"items\":"u8.ToArray(), "\"error\":"u8.ToArray(), "1e999"u8.ToArray(), "-0"u8.ToArray(),
        "null"u8.ToArray(), "\\u0000"u8.ToArray(), "\\"u8.ToArray(), [0xff], [0xc3], "\n"u8.ToArray(),
    ];

    [Fact]
    public void WellFormedRepliesGiveEveryItemInOrder()
    {
        var gen = Gen.Select(BulkReplyItem.Any.Select(i => i with { Shape = 0 }).Array[0, 20], Gen.Bool,
            (items, full) => new BulkReply(items, 0, "", full));
        FuzzBudget.Run(output, "bulk well-formed", gen, reply =>
        {
            var results = new List<BulkItemResult>();
            BulkResponseParser.Parse(reply.Bytes(), results);
            Assert.Equal(reply.Items.Select(i => i.Status), results.Select(r => r.Status));
            for (var i = 0; i < results.Count; i++)
            {
                Assert.Equal(reply.Items[i].Status >= 300, results[i].ErrorJson is not null);
                if (reply.Items[i].Status >= 300)
                {
                    // What the log line shows: the error's type when it has one, and its reason.
                    var shown = results[i].Describe();
                    Assert.Contains(reply.Items[i].Reason, shown);
                    Assert.Contains(reply.Items[i].ErrorShape switch { 0 => "es_rejected_execution_exception", 1 => "document_parsing_exception", _ => "" }, shown);
                }
            }
        }, reply => reply.Render());
    }

    [Fact]
    public void OddRepliesGiveItemsOrAFormatException()
    {
        var gen = Gen.Frequency<byte[]>(
            (3, BulkReply.Any.Select(r => r.Bytes())),
            (2, Gen.Select(BulkReply.Any, Gen.Int[0, int.MaxValue], (r, cut) => { var b = r.Bytes(); return b[..(cut % (b.Length + 1))]; })),
            (3, Gen.Select(BulkReply.Any, ByteMutation.Edits(6), (r, edits) => ByteMutation.Apply(r.Bytes(), edits, Tokens))));
        FuzzBudget.Run(output, "bulk odd", gen, body =>
        {
            var results = new List<BulkItemResult>();
            var allocated = FuzzBudget.Allocated(() =>
            {
                try
                {
                    BulkResponseParser.Parse(body, results);
                }
                catch (FormatException e)
                {
                    Assert.False(string.IsNullOrEmpty(e.Message));
                    return;
                }
            });

            // Error texts are copied out once or twice: bounded by the reply's size.
            Assert.True(allocated <= 65536 + (16L * body.Length), $"{allocated} bytes allocated for a {body.Length}-byte reply");
            // Statuses are read as sent, even 0: BulkItemTriage refuses what no HTTP reply has.
        }, body => Encoding.UTF8.GetString(body));
    }

    [Theory]
    [InlineData("""{"items":[{"create":{"status":400,"error":{"type":"document_parsing_exception","reason":"bad value '\ud800'"}}}]}""")]
    [InlineData("""{"items":[{"create":{"status":400,"error":"\udc00"}}]}""")]
    public void AnErrorTextWithALoneSurrogateIsReadNotThrown(string reply)
    {
        var results = new List<BulkItemResult>();
        BulkResponseParser.Parse(Encoding.UTF8.GetBytes(reply), results);
        Assert.Equal(400, Assert.Single(results).Status);
    }

    // Findings of the fuzzer's first runs: replies the parser accepted although they pair statuses with the wrong
    // documents. (Statuses no HTTP reply has, finding 4, are read as sent and refused by BulkItemTriage.)
    [Theory]
    [InlineData("""{"items":[{"create":{"status":201}},5,{"create":{"status":201}}]}""")] // 2: a non-object item ends the list quietly
    [InlineData("""{"items":[{"create":{"status":201}},null]}""")]
    [InlineData("""{"items":[{"create":{"status":400}}],"items":[{"create":{"status":201}}]}""")] // 3: items written twice are joined
    [InlineData("""{"items":[{"create":{"status":201}}]}garbage""")] // 5: bytes after the reply are ignored
    public void AReplyThatCannotBePairedWithTheDocumentsIsRefused(string reply)
    {
        Assert.Throws<FormatException>(() => BulkResponseParser.Parse(Encoding.UTF8.GetBytes(reply), new List<BulkItemResult>()));
    }
}
