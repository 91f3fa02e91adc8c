using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>One entry of a <c>_bulk</c> reply's <c>items</c>, paired with the request's documents by position.</summary>
public readonly record struct BulkItemResult(int Status, string? ErrorType, string? ErrorReason, string? ErrorJson)
{
    /// <summary>Reads an Elasticsearch error object (reader on its StartObject) into "type: reason", leaving the reader on its EndObject.</summary>
    internal static string DescribeError(ref Utf8JsonReader reader)
    {
        ReadError(ref reader, out var type, out var reason);
        return (type, reason) switch
        {
            (null, null) => "unknown error",
            (null, _) => reason!,
            (_, null) => type,
            _ => type + ": " + reason,
        };
    }

    /// <summary>Reads an <c>error</c> object's type and reason; the reader ends on its EndObject.</summary>
    internal static void ReadError(ref Utf8JsonReader reader, out string? type, out string? reason)
    {
        type = null;
        reason = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.TokenType == JsonTokenType.String ? ReadText(ref reader) : null;
            }
            else if (reader.ValueTextEquals("reason"u8))
            {
                reader.Read();
                reason = reader.TokenType == JsonTokenType.String ? ReadText(ref reader) : null;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    /// <summary>
    /// A string the server wrote. A reason can quote a document's bad value, lone UTF-16 surrogate escapes
    /// included, which <see cref="Utf8JsonReader.GetString"/> refuses to decode: such a text is kept as written.
    /// </summary>
    internal static string ReadText(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString() ?? "";
        }
        catch (InvalidOperationException)
        {
            return Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
        }
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
