using System.Text.Json;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>What <c>GET /</c> says about the cluster, and whether we may ship to it.</summary>
public sealed class ClusterInfo
{
    public static readonly Version MinimumVersion = new(7, 17, 0);

    public string NodeName { get; private init; } = "";

    public string ClusterName { get; private init; } = "";

    public string ClusterUuid { get; private init; } = "";

    /// <summary>As reported, e.g. <c>8.15.0</c> or <c>8.16.0-SNAPSHOT</c>.</summary>
    public string VersionNumber { get; private init; } = "";

    public string BuildFlavor { get; private init; } = "";

    public Version? Version { get; private init; }

    /// <summary>Parses the root endpoint's reply; throws <see cref="FormatException"/> naming what is missing.</summary>
    public static ClusterInfo Parse(ReadOnlySpan<byte> body)
    {
        string name = "", cluster = "", uuid = "", number = "", flavor = "";
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException("the reply to GET / is not a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString();
                reader.Read();
                switch (key)
                {
                    case "name" when reader.TokenType == JsonTokenType.String:
                        name = reader.GetString()!;
                        break;
                    case "cluster_name" when reader.TokenType == JsonTokenType.String:
                        cluster = reader.GetString()!;
                        break;
                    case "cluster_uuid" when reader.TokenType == JsonTokenType.String:
                        uuid = reader.GetString()!;
                        break;
                    case "version" when reader.TokenType == JsonTokenType.StartObject:
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            var versionKey = reader.GetString();
                            reader.Read();
                            if (versionKey == "number" && reader.TokenType == JsonTokenType.String)
                            {
                                number = reader.GetString()!;
                            }
                            else if (versionKey == "build_flavor" && reader.TokenType == JsonTokenType.String)
                            {
                                flavor = reader.GetString()!;
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
        }
        catch (JsonException e)
        {
            throw new FormatException($"the reply to GET / is not valid JSON: {e.Message}", e);
        }

        if (number.Length == 0)
        {
            throw new FormatException("the reply to GET / has no version.number");
        }

        return new ClusterInfo
        {
            NodeName = name,
            ClusterName = cluster,
            ClusterUuid = uuid,
            VersionNumber = number,
            BuildFlavor = flavor,
            Version = ParseVersion(number),
        };
    }

    /// <summary>Null when we can ship to this server, else why not.</summary>
    public static string? Refusal(string? productHeader, ClusterInfo? info)
    {
        if (!string.Equals(productHeader, "Elasticsearch", StringComparison.Ordinal))
        {
            return productHeader is null
                ? "the server is not Elasticsearch: its reply has no 'X-Elastic-Product: Elasticsearch' header (OpenSearch, a proxy, or Elasticsearch older than 7.14?)"
                : $"the server is not Elasticsearch: it identifies as '{productHeader}'";
        }

        if (info?.Version is null)
        {
            return $"cannot understand the Elasticsearch version '{info?.VersionNumber}'";
        }

        if (info.Version < MinimumVersion)
        {
            return $"Elasticsearch {info.VersionNumber} is too old: Shipper needs 7.17 or later";
        }

        return null;
    }

    private static Version? ParseVersion(string number)
    {
        var end = 0;
        while (end < number.Length && (char.IsAsciiDigit(number[end]) || number[end] == '.'))
        {
            end++;
        }

        return System.Version.TryParse(number[..end], out var version) ? version : null;
    }
}
