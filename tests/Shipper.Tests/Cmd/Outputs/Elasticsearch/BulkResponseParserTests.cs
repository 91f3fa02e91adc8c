using System.Text;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

public class BulkResponseParserTests
{
    private static List<BulkItemResult> Parse(string json)
    {
        var results = new List<BulkItemResult>();
        BulkResponseParser.Parse(Encoding.UTF8.GetBytes(json), results);
        return results;
    }

    [Fact]
    public void ReadsTheFilteredReplyInOrder()
    {
        var results = Parse("""
            {"errors":true,"items":[
              {"create":{"status":201}},
              {"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[x]: version conflict, document already exists (current version [1])","index_uuid":"abc","shard":"0","index":"i"}}},
              {"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}},
              {"create":{"status":400,"error":{"type":"document_parsing_exception","reason":"[1:15] failed to parse field [process.pid] of type [long]","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"x\""}}}}
            ]}
            """);

        Assert.Equal(new[] { 201, 409, 429, 400 }, results.Select(r => r.Status));
        Assert.Null(results[0].ErrorType);
        Assert.Equal("document_parsing_exception", results[3].ErrorType);
        Assert.Equal("[1:15] failed to parse field [process.pid] of type [long]", results[3].ErrorReason);
        Assert.StartsWith("{\"type\":\"document_parsing_exception\"", results[3].ErrorJson, StringComparison.Ordinal);
        Assert.EndsWith("}}", results[3].ErrorJson, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadsTheUnfilteredReplyToo()
    {
        var results = Parse("""
            {"took":30,"errors":false,"items":[{"create":{"_index":".ds-shipper-2024.05.17-000001","_id":"a1","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}}]}
            """);
        Assert.Equal(201, Assert.Single(results).Status);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"errors\":false}")]
    [InlineData("{\"items\":[{\"create\":{}}]}")]
    [InlineData("{\"items\":{}}")]
    [InlineData("[1,2]")]
    public void RefusesWhatIsNotABulkReply(string json) => Assert.Throws<FormatException>(() => Parse(json));
}
