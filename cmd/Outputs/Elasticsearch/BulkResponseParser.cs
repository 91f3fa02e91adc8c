using System.Text;
using System.Text.Json;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// Reads a <c>_bulk</c> reply filtered by <c>filter_path=errors,items.*.error,items.*.status</c> (the full
/// reply works too) with <see cref="Utf8JsonReader"/>: one <see cref="BulkItemResult"/> per item, in
/// request order. Successful items allocate nothing.
/// </summary>
public static class BulkResponseParser
{
    /// <summary>Fills <paramref name="results"/>; throws <see cref="FormatException"/> when the reply is not a bulk reply.</summary>
    public static void Parse(ReadOnlySpan<byte> body, List<BulkItemResult> results)
    {
        results.Clear();
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException("the bulk reply is not a JSON object");
            }

            var sawItems = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("items"u8))
                {
                    if (sawItems)
                    {
                        // Two lists cannot both be paired with the documents in order.
                        throw new FormatException("the bulk reply has 'items' twice");
                    }

                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw new FormatException("'items' in the bulk reply is not an array");
                    }

                    sawItems = true;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            // Stopping here would pair the statuses after it with the wrong documents.
                            throw new FormatException($"item {results.Count} in the bulk reply is not an object but {reader.TokenType}");
                        }

                        results.Add(ReadItem(ref reader, body));
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw new FormatException("the bulk reply ends before its closing brace");
            }

            if (reader.Read())
            {
                throw new FormatException("the bulk reply goes on after its closing brace");
            }

            if (!sawItems)
            {
                throw new FormatException("the bulk reply has no 'items'");
            }
        }
        catch (JsonException e)
        {
            throw new FormatException($"the bulk reply is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Reads <c>{"create":{"status":…,"error":{…}}}</c>; the reader ends on the item's EndObject.</summary>
    private static BulkItemResult ReadItem(ref Utf8JsonReader reader, ReadOnlySpan<byte> body)
    {
        int? status = null;
        string? errorType = null;
        string? errorReason = null;
        string? errorJson = null;

        // The single property is the action name (create, index, …); its value holds the outcome.
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("status"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var number))
                    {
                        throw new FormatException("an item's status in the bulk reply is not a number");
                    }

                    // Kept as sent, even -1 or 100: whether it is a status at all is the triage's to judge.
                    status = number;
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        var copy = reader;
                        BulkItemResult.ReadError(ref copy, out errorType, out errorReason);
                    }
                    else if (reader.TokenType == JsonTokenType.String)
                    {
                        errorReason = BulkItemResult.ReadText(ref reader);
                    }

                    reader.Skip();
                    var end = (int)reader.BytesConsumed;
                    errorJson = Encoding.UTF8.GetString(body[start..end]);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        if (status is not { } found)
        {
            throw new FormatException("an item in the bulk reply has no status (is items.*.status in filter_path?)");
        }

        return new BulkItemResult(found, errorType, errorReason, errorJson);
    }
}
