namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>A scripted failure for a whole <c>_bulk</c> request (the reply modes also for <c>GET /</c>).</summary>
public abstract record BulkFault
{
    /// <summary>Answer with this status and ES's error body for it.</summary>
    public sealed record Status(int Code) : BulkFault;

    /// <summary>Read part of the body, then drop the connection.</summary>
    public sealed record DropConnection : BulkFault;

    /// <summary>Read the request and never answer (until the client gives up).</summary>
    public sealed record Stall : BulkFault;

    /// <summary>Answer 200 with a chunked body of items that never ends (until the client goes away).</summary>
    public sealed record EndlessChunkedReply : BulkFault;

    /// <summary>
    /// Answer 200, <c>Content-Encoding: gzip</c>, with a body that inflates to <paramref name="InflatedBytes"/>
    /// (a reply's start, then spaces) in about a thousandth of that on the wire; with its <c>Content-Length</c>
    /// when <paramref name="AnnounceLength"/>, else chunked.
    /// </summary>
    public sealed record GzipBomb(long InflatedBytes, bool AnnounceLength) : BulkFault;

    /// <summary>Answer 200, <c>Content-Encoding: gzip</c>, with empty gzip members forever: bytes that inflate to nothing.</summary>
    public sealed record EndlessEmptyGzip : BulkFault;

    /// <summary>
    /// Index the documents, then send half of the real reply (with its full <c>Content-Length</c>, or
    /// <paramref name="Chunked"/>) and close the connection cleanly (FIN), as a proxy or a dying node would.
    /// </summary>
    public sealed record TruncatedReply(bool Chunked) : BulkFault;

    /// <summary>Index the documents, but leave the last <paramref name="Count"/> items out of the reply (and say <c>errors: false</c>).</summary>
    public sealed record MissingItems(int Count) : BulkFault;

    /// <summary>Index the documents, and add <paramref name="Count"/> more created items to the reply.</summary>
    public sealed record ExtraItems(int Count) : BulkFault;
}
