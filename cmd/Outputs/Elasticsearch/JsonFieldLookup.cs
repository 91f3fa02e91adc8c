using System.Text;
using System.Text.Json;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// Finds the value of a dotted field path in an encoded JSON document, accepting both nested objects and
/// dotted keys (<c>{"a":{"b":1}}</c> and <c>{"a.b":1}</c>), as Elasticsearch does.
/// </summary>
public static class JsonFieldLookup
{
    /// <summary>Strings come back as they are, numbers and booleans as their JSON text; objects, arrays and null are "not found".</summary>
    public static bool TryGetString(ReadOnlySpan<byte> json, string path, out string value)
    {
        value = "";
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        return FindInObject(ref reader, path, out value);
    }

    private static bool FindInObject(ref Utf8JsonReader reader, string path, out string value)
    {
        value = "";
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            if (name == path)
            {
                return TryScalar(ref reader, out value);
            }

            if (path.Length > name.Length && path[name.Length] == '.' && path.StartsWith(name, StringComparison.Ordinal)
                && reader.TokenType == JsonTokenType.StartObject)
            {
                var copy = reader;
                if (FindInObject(ref copy, path[(name.Length + 1)..], out value))
                {
                    return true;
                }
            }

            reader.Skip();
        }

        return false;
    }

    private static bool TryScalar(ref Utf8JsonReader reader, out string value)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                value = reader.GetString()!;
                return true;
            case JsonTokenType.Number:
                value = Encoding.UTF8.GetString(reader.ValueSpan);
                return true;
            case JsonTokenType.True:
                value = "true";
                return true;
            case JsonTokenType.False:
                value = "false";
                return true;
            default:
                value = "";
                return false;
        }
    }
}
