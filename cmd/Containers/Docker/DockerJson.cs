using System.Text.Json;

namespace Shipper.Containers.Docker;

/// <summary>
/// Reads the Docker API's JSON replies with <see cref="Utf8JsonReader"/> (NativeAOT-clean, no reflection): the
/// container list (<c>GET /containers/json</c>), an inspect (<c>GET /containers/{id}/json</c>) and one event of
/// <c>GET /events</c>. Unknown properties are skipped; a reply of the wrong shape is a <see cref="DockerApiException"/>.
/// </summary>
public static class DockerJson
{
    public static List<DockerContainer> ParseList(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        var containers = new List<DockerContainer>();
        try
        {
            Expect(ref reader, JsonTokenType.StartArray, "the container list");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                containers.Add(ReadContainer(ref reader, inspect: false));
            }

            return containers;
        }
        catch (JsonException e)
        {
            throw new DockerApiException($"the container list is not valid JSON: {e.Message}", e);
        }
    }

    public static DockerContainer ParseInspect(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            reader.Read();
            return ReadContainer(ref reader, inspect: true);
        }
        catch (JsonException e)
        {
            throw new DockerApiException($"the container inspect reply is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>The <c>message</c> of an error reply (<c>{"message":"No such container: …"}</c>), or null.</summary>
    public static string? ParseErrorMessage(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isMessage = reader.ValueTextEquals("message"u8);
                reader.Read();
                if (isMessage && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString();
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    public static DockerEvent ParseEvent(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        string? type = null, action = null, status = null, id = null, actorId = null;
        long time = 0;
        try
        {
            Expect(ref reader, JsonTokenType.StartObject, "an event");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "Type":
                        type = StringValue(ref reader, "Type");
                        break;
                    case "Action":
                        action = StringValue(ref reader, "Action");
                        break;
                    case "status":
                        status = StringValue(ref reader, "status");
                        break;
                    case "id":
                        id = StringValue(ref reader, "id");
                        break;
                    case "time":
                        time = reader.TokenType == JsonTokenType.Number ? reader.GetInt64() : throw new DockerApiException("an event's time is not a number");
                        break;
                    case "Actor":
                        actorId = ReadActorId(ref reader);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            throw new DockerApiException($"an event is not valid JSON: {e.Message}", e);
        }

        // Old daemons (API < 1.22) send only status and id.
        return new DockerEvent(type ?? "container", action ?? status ?? "", actorId ?? id ?? "", time);
    }

    private static string? ReadActorId(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new DockerApiException("an event's Actor is not an object");
        }

        string? id = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isId = reader.ValueTextEquals("ID"u8);
            reader.Read();
            if (isId)
            {
                id = StringValue(ref reader, "Actor.ID");
            }
            else
            {
                reader.Skip();
            }
        }

        return id;
    }

    private static DockerContainer ReadContainer(ref Utf8JsonReader reader, bool inspect)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new DockerApiException($"a container is not a JSON object (found {reader.TokenType})");
        }

        string? id = null, name = null, image = null;
        IReadOnlyList<KeyValuePair<string, string>> labels = [];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.GetString();
            reader.Read();
            switch (property)
            {
                case "Id":
                    id = StringValue(ref reader, "Id");
                    break;
                case "Names" when !inspect:
                    name = FirstName(ref reader);
                    break;
                case "Name" when inspect:
                    name = StringValue(ref reader, "Name");
                    break;
                case "Image" when !inspect:
                    image = StringValue(ref reader, "Image");
                    break;
                case "Labels" when !inspect:
                    labels = ReadLabels(ref reader);
                    break;
                case "Config" when inspect && reader.TokenType == JsonTokenType.StartObject:
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var key = reader.GetString();
                        reader.Read();
                        if (key == "Image")
                        {
                            image = StringValue(ref reader, "Config.Image");
                        }
                        else if (key == "Labels")
                        {
                            labels = ReadLabels(ref reader);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (id is null || id.Length == 0)
        {
            throw new DockerApiException("a container has no Id");
        }

        return new DockerContainer(id, name is { Length: > 0 } && name[0] == '/' ? name[1..] : name, image, labels);
    }

    private static string? FirstName(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new DockerApiException("a container's Names is not a list");
        }

        string? first = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var name = StringValue(ref reader, "Names");
            first ??= name;
        }

        return first;
    }

    private static IReadOnlyList<KeyValuePair<string, string>> ReadLabels(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return [];
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new DockerApiException("a container's Labels is not an object");
        }

        var labels = new List<KeyValuePair<string, string>>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            labels.Add(new(key, StringValue(ref reader, "Labels." + key) ?? ""));
        }

        return labels;
    }

    private static string? StringValue(ref Utf8JsonReader reader, string what) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw new DockerApiException($"{what} is not a string (found {reader.TokenType})"),
    };

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new DockerApiException($"{what} is not a JSON {(type == JsonTokenType.StartArray ? "array" : "object")}");
        }
    }
}
