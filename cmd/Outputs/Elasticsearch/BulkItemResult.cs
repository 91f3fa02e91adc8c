using System.Text;
using System.Text.Json;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>One entry of a <c>_bulk</c> reply's <c>items</c>, paired with the request's documents by position.</summary>
public readonly record struct BulkItemResult(int Status, string? ErrorType, string? ErrorReason, string? ErrorJson)
{
    /// <summary>Reads an Elasticsearch error object (reader on its StartObject) into "type: reason", leaving the reader on its EndObject.</summary>
    internal static string DescribeError(ref Utf8JsonReader reader)
    {
        string? type = null;
        string? reason = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return "unknown error";
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("reason"u8))
            {
                reader.Read();
                reason = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return (type, reason) switch
        {
            (null, null) => "unknown error",
            (null, _) => reason!,
            (_, null) => type,
            _ => type + ": " + reason,
        };
    }

    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append("status ").Append(Status);
        if (ErrorType is not null || ErrorReason is not null)
        {
            sb.Append(", ").Append(ErrorType ?? "error");
            if (ErrorReason is not null)
            {
                sb.Append(": ").Append(ErrorReason);
            }
        }

        return sb.ToString();
    }
}
