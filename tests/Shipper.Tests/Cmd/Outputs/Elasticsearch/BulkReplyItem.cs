using CsCheck;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>One item of a <see cref="BulkReply"/>: shape 0 is well formed; the others put an oddity somewhere.</summary>
public sealed record BulkReplyItem(string Action, int Status, int ErrorShape, string Reason, int Shape, string Oddity, bool StatusFirst)
{
    /// <summary>Values of the wrong type or size, for any place in the reply.</summary>
    public static readonly string[] Oddities =
    [
        "null", "true", "\"201\"", "2.01e2", "201.0", "-1", "0", "1e400", "99999999999", "-2147483649", "[]", "{}", "[201]",
        "{\"status\":201}", "\"\"", "\"\\ud800\"", "\"\\u0000\"", new string('[', 40) + new string(']', 40),
        new string('[', 70) + new string(']', 70), "{\"a\":" + string.Concat(Enumerable.Repeat("{\"a\":", 30)) + "1" + new string('}', 31),
    ];

    public static readonly Gen<BulkReplyItem> Any = Gen.Select(
        Gen.OneOf("create", "index", "update", "delete"),
        Gen.Frequency<int>((5, Gen.OneOf(200, 201, 409, 429, 400, 500, 503, 404)), (1, Gen.Int[100, 599])),
        Gen.Int[0, 3],
        Gen.Frequency<string>((3, Gen.OneOf("rejected execution", "[1:15] failed to parse field [process.pid]", "")),
            (1, Gen.String[Gen.Char['\u0001', '\uD7FF'], 0, 40])),
        Gen.Frequency<int>((8, Gen.Const(0)), (1, Gen.Int[1, 7])),
        Gen.OneOf(Oddities), Gen.Bool,
        (action, status, errorShape, reason, shape, oddity, statusFirst) => new BulkReplyItem(action, status, errorShape, reason, shape, oddity, statusFirst));

    public string Render(bool full)
    {
        var status = Shape == 1 ? Oddity : Status.ToString();
        var error = Status < 300 ? null : Shape == 2 ? Oddity : ErrorShape switch
        {
            0 => $"{{\"type\":\"es_rejected_execution_exception\",\"reason\":{Quote(Reason)}}}",
            1 => $"{{\"type\":\"document_parsing_exception\",\"reason\":{Quote(Reason)},\"caused_by\":{{\"type\":\"illegal_argument_exception\",\"reason\":\"x\"}}}}",
            2 => $"{{\"reason\":{Quote(Reason)}}}",
            _ => Quote(Reason),
        };
        var fields = new List<string>();
        if (full)
        {
            fields.Add("\"_index\":\".ds-shipper-2026.12.03-000001\",\"_id\":\"abc\",\"_version\":1,\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0}");
        }

        fields.Add($"\"status\":{status}");
        if (!StatusFirst)
        {
            fields.Reverse();
        }

        if (error is not null)
        {
            fields.Add($"\"error\":{error}");
        }

        if (Shape == 3)
        {
            fields.Add($"\"status\":{Oddity}"); // status written twice
        }

        var body = "{" + string.Join(",", fields) + "}";
        return Shape switch
        {
            4 => Oddity, // the item itself is not an object
            5 => $"{{\"{Action}\":{Oddity}}}", // the action's value is not an object
            6 => $"{{\"{Action}\":{body},\"{Action}\":{body}}}", // two actions in one item
            7 => $"{{}}",
            _ => $"{{\"{Action}\":{body}}}",
        };
    }

    private static string Quote(string text) => "\"" + global::System.Text.Json.JsonEncodedText.Encode(text).ToString() + "\"";
}
