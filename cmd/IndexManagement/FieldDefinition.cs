namespace Shipper.IndexManagement;

/// <summary>One field of fields.yml (the beats format): a leaf with a type, or a group/nested field with children.</summary>
public sealed class FieldDefinition
{
    public required string Name { get; init; }

    /// <summary>As written; empty means keyword, as in beats.</summary>
    public string Type { get; init; } = "";

    public string? Description { get; init; }

    /// <summary>0 = not set (keyword gets 1024), −1 = leave to Elasticsearch, else the value.</summary>
    public int IgnoreAbove { get; init; }

    public IReadOnlyList<FieldDefinition> MultiFields { get; init; } = Array.Empty<FieldDefinition>();

    public IReadOnlyList<FieldDefinition> Fields { get; init; } = Array.Empty<FieldDefinition>();

    public string? ObjectType { get; init; }

    public string? ObjectTypeMappingType { get; init; }

    public bool? Index { get; init; }

    public bool? DocValues { get; init; }

    public bool? Enabled { get; init; }

    public string? Dynamic { get; init; }

    public bool? DefaultField { get; init; }

    public bool Norms { get; init; }

    public int? ScalingFactor { get; init; }

    public string? Format { get; init; }

    /// <summary>Target of an alias field.</summary>
    public string? Path { get; init; }

    public string? CopyTo { get; init; }

    public string? Analyzer { get; init; }

    public string? SearchAnalyzer { get; init; }

    /// <summary>Where it was defined, for errors.</summary>
    public string Where { get; init; } = "";
}
