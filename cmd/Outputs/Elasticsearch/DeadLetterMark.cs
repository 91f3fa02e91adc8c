namespace Shipper.Outputs.Elasticsearch;

/// <summary>Why Elasticsearch rejected an event that is now on its way to the dead-letter index.</summary>
public sealed record DeadLetterMark(int Status, string Error);
