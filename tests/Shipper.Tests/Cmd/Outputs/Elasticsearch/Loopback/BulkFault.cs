namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>A scripted failure for a whole <c>_bulk</c> request.</summary>
public abstract record BulkFault
{
    /// <summary>Answer with this status and ES's error body for it.</summary>
    public sealed record Status(int Code) : BulkFault;

    /// <summary>Read part of the body, then drop the connection.</summary>
    public sealed record DropConnection : BulkFault;

    /// <summary>Read the request and never answer (until the client gives up).</summary>
    public sealed record Stall : BulkFault;
}
