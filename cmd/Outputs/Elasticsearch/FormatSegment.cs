namespace Shipper.Outputs.Elasticsearch;

/// <summary>One piece of a <see cref="FormatString"/>. <see cref="Text"/> is the literal, the field path, or the .NET date format.</summary>
public readonly record struct FormatSegment(FormatSegmentKind Kind, string Text, string? Default);
