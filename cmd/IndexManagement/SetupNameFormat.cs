using System.Text;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.IndexManagement;

/// <summary>
/// Resolves the names <c>setup.*</c> gives as format strings (the template's name and pattern, the ILM policy's
/// name): literal text and <c>%{[agent.name]}</c> / <c>%{[agent.version]}</c>, the only fields known before any
/// event exists, as in libbeat.
/// </summary>
public static class SetupNameFormat
{
    /// <summary>Throws <see cref="FormatException"/> saying what is wrong; <paramref name="thing"/> names what is being made ("template").</summary>
    public static string Resolve(string text, string version, string thing)
    {
        var format = FormatString.Parse(text);
        var result = new StringBuilder();
        foreach (var segment in format.Segments)
        {
            switch (segment.Kind)
            {
                case FormatSegmentKind.Literal:
                    result.Append(segment.Text);
                    break;
                case FormatSegmentKind.Field:
                    var value = segment.Text switch
                    {
                        "agent.version" or "observer.version" or "beat.version" => version,
                        "agent.name" or "observer.name" or "beat.name" => IndexTemplateBuilder.BeatName,
                        _ => segment.Default,
                    };
                    result.Append(value ?? throw new FormatException($"'{text}' refers to [{segment.Text}]; only agent.name and agent.version are known when the {thing} is made"));
                    break;
                default:
                    throw new FormatException($"'{text}' uses a timestamp, which a {thing} name cannot have");
            }
        }

        return result.ToString();
    }
}
