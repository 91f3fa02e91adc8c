using global::System.Text;
using CsCheck;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>
/// A generated <c>_bulk</c> reply: items as Elasticsearch writes them (full or filtered by filter_path, keys in
/// any order, errors with nested causes), where any value may be swapped for a fragment of the wrong type, a
/// huge or fractional number, deep nesting, or a key written twice.
/// </summary>
public sealed record BulkReply(BulkReplyItem[] Items, int TopShape, string TopOddity, bool Full)
{
    private static readonly Gen<string> Odd = Gen.OneOf(BulkReplyItem.Oddities);

    public static readonly Gen<BulkReply> Any = Gen.Select(
        BulkReplyItem.Any.Array[0, 12], Gen.Frequency<int>((6, Gen.Const(0)), (1, Gen.Int[1, 4])), Odd, Gen.Bool,
        (items, shape, odd, full) => new BulkReply(items, shape, odd, full));

    /// <summary>Whether nothing was swapped: the parser must then read every item exactly.</summary>
    public bool IsWellFormed => TopShape == 0 && Items.All(i => i.Shape == 0);

    public string Render()
    {
        var items = string.Join(",", Items.Select(i => i.Render(Full)));
        var errors = Items.Any(i => i.Status >= 300) ? "true" : "false";
        return TopShape switch
        {
            1 => $"{{\"took\":3,\"errors\":{errors},\"items\":{TopOddity}}}",
            2 => $"{{\"items\":[{items}],\"errors\":{errors},\"items\":[{items}]}}", // items written twice
            3 => $"{{\"errors\":{errors},\"items\":[{items}]}}{TopOddity}", // trailing bytes after the object
            4 => TopOddity,
            _ => Full ? $"{{\"took\":3,\"errors\":{errors},\"items\":[{items}]}}" : $"{{\"errors\":{errors},\"items\":[{items}]}}",
        };
    }

    public byte[] Bytes() => Encoding.UTF8.GetBytes(Render());

    public override string ToString() => Render();
}
