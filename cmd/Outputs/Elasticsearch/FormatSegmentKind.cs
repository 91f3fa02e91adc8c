namespace Shipper.Outputs.Elasticsearch;

public enum FormatSegmentKind
{
    Literal,

    /// <summary><c>%{[field.path]}</c> or <c>%{[field.path]:default}</c>.</summary>
    Field,

    /// <summary><c>%{+yyyy.MM.dd}</c>: the event's timestamp in UTC.</summary>
    Timestamp,
}
