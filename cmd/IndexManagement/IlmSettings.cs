using System.Text.Json;
using Shipper.Config;
using Shipper.Module.Config;

namespace Shipper.IndexManagement;

/// <summary>
/// <c>setup.ilm.*</c>, as libbeat 8 has it for a stateful cluster: an index lifecycle policy that Shipper
/// installs at connect, before the index template, and that the template names in
/// <c>index.lifecycle.name</c>. <c>enabled</c> defaults to true (it only matters with
/// <c>output.elasticsearch</c>); <c>policy_name</c> defaults to <c>shipper</c> and is a format string that
/// may use <c>agent.name</c> and <c>agent.version</c>; <c>policy_file</c> holds the policy body as JSON
/// (default: <see cref="IlmPolicy.DefaultBody"/>); <c>check_exists: false</c> never touches the policy
/// (for a user without the <c>manage_ilm</c> privilege) but still links the template to it.
/// <c>setup.dsl</c> (data stream lifecycle) is for Elasticsearch Serverless, which Shipper does not
/// support: only <c>setup.dsl.enabled: false</c> is accepted.
/// </summary>
public sealed class IlmSettings
{
    public const string DefaultPolicyName = "shipper";

    /// <summary>Policy files are small; this bounds what a wrong path (a log, a disk image) makes us read.</summary>
    public const int MaxPolicyFileBytes = 1024 * 1024;

    public bool Enabled { get; init; } = true;

    /// <summary>The <c>policy_name</c> format string, unresolved.</summary>
    public string PolicyName { get; init; } = DefaultPolicyName;

    /// <summary>The absolute path of <c>policy_file</c>, or null for the default policy.</summary>
    public string? PolicyFile { get; init; }

    /// <summary>The body of <c>PUT _ilm/policy/&lt;name&gt;</c>: <c>{"policy":{"phases":{…}}}</c>, compact JSON.</summary>
    public byte[] PolicyBody { get; init; } = IlmPolicy.DefaultBody;

    public bool CheckExists { get; init; } = true;

    public bool Overwrite { get; init; }

    public static IlmSettings Default { get; } = new();

    public static IlmSettings Disabled { get; } = new() { Enabled = false };

    /// <summary>
    /// Parses <c>setup.ilm</c> and checks <c>setup.dsl</c>. A relative <c>policy_file</c> is taken from
    /// <paramref name="configDirectory"/> (<c>path.config</c>); the file is read and checked here, so a bad
    /// one is a config error naming the file and the JSON problem.
    /// </summary>
    public static IlmSettings Parse(ConfigSection setupIlm, ConfigSection setupDsl, string configDirectory)
    {
        if (setupDsl.Bool("enabled", false))
        {
            throw setupDsl.Error("enabled", "data stream lifecycle (setup.dsl) is for Elasticsearch Serverless, which shipper does not support: use setup.ilm");
        }

        foreach (var (key, node) in setupDsl.Map.Entries)
        {
            if (key != "enabled")
            {
                throw node.Error("setup.dsl is not supported (it is for Elasticsearch Serverless): use setup.ilm");
            }
        }

        var name = setupIlm.String("policy_name", DefaultPolicyName);
        try
        {
            IlmPolicy.ResolveName(name, Shipper.Events.BuildInfo.Version);
        }
        catch (FormatException e)
        {
            throw setupIlm.Error("policy_name", e.Message);
        }

        string? file = null;
        var body = IlmPolicy.DefaultBody;
        if (setupIlm.OptionalString("policy_file") is { Length: > 0 } given)
        {
            file = Path.GetFullPath(Path.Combine(configDirectory, given));
            body = ReadPolicyFile(file, setupIlm);
        }

        return new IlmSettings
        {
            Enabled = setupIlm.Bool("enabled", true),
            PolicyName = name,
            PolicyFile = file,
            PolicyBody = body,
            CheckExists = setupIlm.Bool("check_exists", true),
            Overwrite = setupIlm.Bool("overwrite", false),
        };
    }

    /// <summary>Reads and checks a policy file: JSON, an object with <c>policy.phases</c> an object. Returns it compacted.</summary>
    private static byte[] ReadPolicyFile(string file, ConfigSection setupIlm)
    {
        string text;
        try
        {
            text = ConfigFile.ReadText(file);
        }
        catch (ConfigException e)
        {
            throw setupIlm.Error("policy_file", $"cannot read the ILM policy: {e.Problem}");
        }

        if (text.Length > MaxPolicyFileBytes)
        {
            throw setupIlm.Error("policy_file", $"ILM policy file {file} is more than {MaxPolicyFileBytes} bytes");
        }

        try
        {
            return IlmPolicy.CheckBody(global::System.Text.Encoding.UTF8.GetBytes(text));
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : "";
            throw setupIlm.Error("policy_file", $"ILM policy file {file} is not valid JSON{where}: {FirstSentence(e.Message)}");
        }
        catch (FormatException e)
        {
            throw setupIlm.Error("policy_file", $"ILM policy file {file}: {e.Message}");
        }
    }

    /// <summary>System.Text.Json appends "Path: $ | LineNumber: … | BytePositionInLine: …" (0-based), which we already say better.</summary>
    private static string FirstSentence(string message)
    {
        foreach (var tail in new[] { " Path: ", " LineNumber: " })
        {
            var cut = message.IndexOf(tail, StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut];
            }
        }

        return message;
    }
}
