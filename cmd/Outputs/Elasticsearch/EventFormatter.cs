using System.Globalization;
using Shipper.Events;
using Shipper.Module.Registry;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// A <see cref="FormatString"/> bound to this shipper's constant fields (agent.*, host.*, @metadata.*) and
/// evaluated per event. When the result equals the previous one (the usual case: one index per day) the
/// same string instance is returned, so formatting does not allocate per event. Not thread-safe: each
/// encoder owns one.
/// </summary>
public sealed class EventFormatter
{
    private readonly FormatSegment[] _parts;
    private readonly string _text;
    private readonly bool _lowercase;
    private char[] _buffer = new char[128];
    private string _last = "";

    public EventFormatter(FormatString format, Func<string, string?> constantFields, bool lowercase)
    {
        _lowercase = lowercase;
        _text = format.Text;
        var parts = new List<FormatSegment>();
        foreach (var segment in format.Segments)
        {
            var bound = segment;
            if (segment.Kind == FormatSegmentKind.Field && constantFields(segment.Text) is { } constant)
            {
                bound = new FormatSegment(FormatSegmentKind.Literal, constant, null);
            }

            // Merge adjacent literals so a constant format becomes a single literal.
            if (bound.Kind == FormatSegmentKind.Literal && parts.Count > 0 && parts[^1].Kind == FormatSegmentKind.Literal)
            {
                parts[^1] = new FormatSegment(FormatSegmentKind.Literal, parts[^1].Text + bound.Text, null);
            }
            else
            {
                parts.Add(bound);
            }
        }

        _parts = parts.ToArray();
        if (_parts.Length == 0)
        {
            Constant = "";
        }
        else if (_parts.Length == 1 && _parts[0].Kind == FormatSegmentKind.Literal)
        {
            Constant = lowercase ? _parts[0].Text.ToLowerInvariant() : _parts[0].Text;
        }
    }

    /// <summary>The value when the format depends on nothing per event.</summary>
    public string? Constant { get; }

    /// <summary>
    /// The fields every document of this shipper carries with the same value; host.* only while nothing
    /// re-reads the host (<see cref="DocumentWriter.ConstantHostField"/>), else they are read per document.
    /// </summary>
    public static Func<string, string?> ConstantFields(DocumentWriter documents)
    {
        var agent = documents.Agent;
        return path => path switch
        {
            "agent.name" => agent.Name,
            "agent.version" => agent.Version,
            "agent.id" => agent.Id,
            "agent.ephemeral_id" => agent.EphemeralId,
            "agent.type" => AgentInfo.Type,
            _ when path.StartsWith("host.", StringComparison.Ordinal) => documents.ConstantHostField(path),
            "ecs.version" => BuildInfo.EcsVersion,
            "@metadata.beat" => AgentInfo.Type,
            "@metadata.type" => "_doc",
            "@metadata.version" => agent.Version,
            _ => null,
        };
    }

    /// <summary>Evaluates the format for one event; <paramref name="document"/> is the event's encoded JSON.</summary>
    public bool TryFormat(Event evt, ReadOnlySpan<byte> document, out string value, out string? missingField)
    {
        missingField = null;
        if (Constant is not null)
        {
            value = Constant;
            return true;
        }

        var length = 0;
        foreach (var part in _parts)
        {
            switch (part.Kind)
            {
                case FormatSegmentKind.Literal:
                    Append(ref length, part.Text);
                    break;
                case FormatSegmentKind.Timestamp:
                    var utc = evt.Timestamp.Kind == DateTimeKind.Local ? evt.Timestamp.ToUniversalTime() : evt.Timestamp;
                    int written;
                    while (!utc.TryFormat(_buffer.AsSpan(length), out written, part.Text, CultureInfo.InvariantCulture))
                    {
                        Grow(length + 64);
                    }

                    length += written;
                    break;
                case FormatSegmentKind.Field:
                    var fieldValue = EventField(evt, part.Text);
                    if (fieldValue is null && !JsonFieldLookup.TryGetString(document, part.Text, out fieldValue))
                    {
                        fieldValue = null;
                    }

                    if (fieldValue is null)
                    {
                        if (part.Default is null)
                        {
                            value = "";
                            missingField = part.Text;
                            return false;
                        }

                        fieldValue = part.Default;
                    }

                    Append(ref length, fieldValue);
                    break;
            }
        }

        var result = _buffer.AsSpan(0, length);
        if (_lowercase)
        {
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = char.ToLowerInvariant(result[i]);
            }
        }

        if (!result.SequenceEqual(_last.AsSpan()))
        {
            _last = new string(result);
        }

        value = _last;
        return true;
    }

    public override string ToString() => _text;

    private static string? EventField(Event evt, string path) => path switch
    {
        "event.module" => evt.Module,
        "event.dataset" => evt.Dataset,
        "event.action" => evt.Action,
        "event.kind" => evt.Kind == EventKind.State ? "state" : "event",
        "event.id" => evt.Id,
        "service.type" => evt.Module,
        _ => null,
    };

    private void Append(ref int length, string text)
    {
        if (length + text.Length > _buffer.Length)
        {
            Grow(length + text.Length);
        }

        text.AsSpan().CopyTo(_buffer.AsSpan(length));
        length += text.Length;
    }

    private void Grow(int needed)
    {
        var bigger = new char[Math.Max(needed, _buffer.Length * 2)];
        _buffer.CopyTo(bigger, 0);
        _buffer = bigger;
    }
}
