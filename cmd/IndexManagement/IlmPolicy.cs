using System.Buffers;
using System.Text;
using System.Text.Json;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.IndexManagement;

/// <summary>
/// The ILM policy Shipper installs: its resolved name and the body of <c>PUT _ilm/policy/&lt;name&gt;</c>.
/// The default body is libbeat's: a hot phase that rolls the data stream over at 50 GB per primary shard or
/// after 30 days, and no other phase (nothing is deleted unless the user's policy says so).
/// </summary>
public sealed class IlmPolicy
{
    public IlmPolicy(IlmSettings settings, string? version = null)
    {
        Name = ResolveName(settings.PolicyName, version ?? Shipper.Events.BuildInfo.Version);
        Body = settings.PolicyBody;
        HasRollover = ContainsRollover(Body);
    }

    /// <summary><c>{"policy":{"phases":{"hot":{"actions":{"rollover":{…}}}}}}</c>, compact.</summary>
    public static byte[] DefaultBody { get; } =
        """{"policy":{"phases":{"hot":{"actions":{"rollover":{"max_primary_shard_size":"50gb","max_age":"30d"}}}}}}"""u8.ToArray();

    public string Name { get; }

    public byte[] Body { get; }

    /// <summary>True when some phase has a <c>rollover</c> action, which only works on a data stream (or an alias).</summary>
    public bool HasRollover { get; }

    /// <summary>Writes the indented policy body to <paramref name="output"/> (for <c>shipper export ilm-policy</c>).</summary>
    public void Export(TextWriter output)
    {
        var buffer = new ArrayBufferWriter<byte>(Body.Length * 2);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        using (var document = JsonDocument.Parse(Body))
        {
            document.WriteTo(writer);
        }

        output.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        output.WriteLine();
    }

    /// <summary>
    /// Resolves a <c>policy_name</c> format string: literal text and <c>%{[agent.name]}</c> /
    /// <c>%{[agent.version]}</c> (as <c>setup.template.name</c>), then checks what Elasticsearch refuses in
    /// a policy name. Throws <see cref="FormatException"/> saying what is wrong.
    /// </summary>
    public static string ResolveName(string text, string version)
    {
        var result = SetupNameFormat.Resolve(text, version, "policy");
        var problem = result switch
        {
            "" => "the policy name is empty",
            _ when result.Contains(',', StringComparison.Ordinal) => "a policy name must not contain ','",
            _ when result.Contains(' ', StringComparison.Ordinal) => "a policy name must not contain a space",
            _ when result[0] == '_' => "a policy name must not start with '_'",
            _ when Encoding.UTF8.GetByteCount(result) > 255 => "a policy name must be at most 255 bytes",
            _ => null,
        };
        return problem is null ? result : throw new FormatException($"'{text}' gives '{result}': {problem}");
    }

    /// <summary>
    /// Checks that <paramref name="json"/> is a policy request body, <c>{"policy":{"phases":{…}}}</c> with
    /// each phase an object, and returns it compacted. Elasticsearch checks the phases and actions
    /// themselves; this catches the mistakes a file can make before any cluster is asked. Throws
    /// <see cref="JsonException"/> for broken JSON and <see cref="FormatException"/> for the wrong shape.
    /// </summary>
    public static byte[] CheckBody(byte[] json)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 32 });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"expected a JSON object {{\"policy\": {{\"phases\": {{…}}}}}}, got {Kind(root)}");
        }

        if (!root.TryGetProperty("policy", out var policy))
        {
            throw new FormatException("the body has no \"policy\" object: write {\"policy\": {\"phases\": {…}}}");
        }

        foreach (var member in root.EnumerateObject())
        {
            if (member.Name != "policy")
            {
                throw new FormatException($"unknown field \"{member.Name}\" beside \"policy\"");
            }
        }

        if (policy.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"\"policy\" must be an object, got {Kind(policy)}");
        }

        if (!policy.TryGetProperty("phases", out var phases) || phases.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("\"policy\" needs a \"phases\" object");
        }

        foreach (var phase in phases.EnumerateObject())
        {
            if (phase.Value.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"phase \"{phase.Name}\" must be an object, got {Kind(phase.Value)}");
            }
        }

        var buffer = new ArrayBufferWriter<byte>(json.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            root.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static bool ContainsRollover(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        foreach (var phase in document.RootElement.GetProperty("policy").GetProperty("phases").EnumerateObject())
        {
            if (phase.Value.TryGetProperty("actions", out var actions) && actions.ValueKind == JsonValueKind.Object && actions.TryGetProperty("rollover", out _))
            {
                return true;
            }
        }

        return false;
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "an object",
    };
}
