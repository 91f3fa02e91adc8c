using Shipper.Module.Config;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Shipper.Config;

/// <summary>
/// Writes the effective configuration (file plus overrides, variables expanded) as YAML for
/// <c>shipper export config</c>, with every secret replaced by <c>[redacted]</c>.
/// </summary>
public static class ConfigExporter
{
    /// <summary>Keys whose values are secrets wherever they appear.</summary>
    private static readonly string[] SecretKeys = { "password", "api_key", "key_passphrase", "passphrase", "token", "secret", "secret_key", "access_key_id", "secret_access_key", "authorization" };

    public const string Redacted = "[redacted]";

    private const string ElasticsearchPrefix = "output.elasticsearch.";

    public static void Write(ConfigMap root, TextWriter output)
    {
        var emitter = new Emitter(output);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        WriteNode(emitter, root, "");
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
    }

    public static bool IsSecret(string key)
    {
        foreach (var secret in SecretKeys)
        {
            if (string.Equals(key, secret, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// How <c>export config</c> shows the value of a setting (dotted path): <see cref="Redacted"/> for a secret,
    /// a host or proxy URL without its password, anything else unchanged. Log lines and the shipper's own
    /// command line in its process documents are redacted with the same notion.
    /// </summary>
    public static string RedactSetting(string path, string value)
    {
        var last = path[(path.LastIndexOf('.') + 1)..];
        if (IsSecret(last))
        {
            return value.Length == 0 ? value : Redacted;
        }

        if (path.StartsWith(ElasticsearchPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var shown = Outputs.Elasticsearch.ElasticsearchSettings.RedactValue(path[ElasticsearchPrefix.Length..], value);
            return shown == "xxxxx" ? Redacted : shown;
        }

        return value;
    }

    private static void WriteNode(IEmitter emitter, ConfigNode node, string key)
    {
        switch (node)
        {
            case ConfigMap map:
                emitter.Emit(new MappingStart());
                foreach (var (k, v) in map.Entries)
                {
                    emitter.Emit(new Scalar(k));
                    WriteNode(emitter, v, k);
                }

                emitter.Emit(new MappingEnd());
                break;
            case ConfigList list:
                emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, isImplicit: true, SequenceStyle.Any));
                foreach (var item in list.Items)
                {
                    WriteNode(emitter, item, key);
                }

                emitter.Emit(new SequenceEnd());
                break;
            case ConfigScalar scalar:
                if (IsSecret(key) && !scalar.IsNull)
                {
                    emitter.Emit(new Scalar(Redacted));
                }
                else if (scalar.Path.StartsWith(ElasticsearchPrefix, StringComparison.Ordinal)
                    && Outputs.Elasticsearch.ElasticsearchSettings.RedactValue(scalar.Path[ElasticsearchPrefix.Length..], scalar.Value) is var shown
                    && shown != scalar.Value)
                {
                    // Inline PEM keys and passwords inside host or proxy URLs.
                    emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, shown == "xxxxx" ? Redacted : shown, ScalarStyle.DoubleQuoted, isPlainImplicit: false, isQuotedImplicit: true));
                }
                else if (scalar.IsQuoted)
                {
                    emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, scalar.Value, ScalarStyle.DoubleQuoted, isPlainImplicit: false, isQuotedImplicit: true));
                }
                else
                {
                    emitter.Emit(new Scalar(scalar.Value));
                }

                break;
        }
    }
}
