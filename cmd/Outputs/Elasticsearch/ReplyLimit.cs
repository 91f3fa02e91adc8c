namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// The most bytes Shipper reads of one reply, counted twice: as the body arrives (after HTTP framing, before
/// gzip) and after inflating. A server that sends more (an endless chunked body, a gzip bomb) gets the request
/// failed and retried instead of the worker's memory; nothing is ever allocated from a length the server
/// announces.
/// </summary>
public static class ReplyLimit
{
    /// <summary>Every reply but <c>_bulk</c>'s: <c>GET /</c> is under 1 KiB, template and data stream replies a few KiB.</summary>
    public const int Default = 1024 * 1024;

    /// <summary>
    /// Per item of a <c>_bulk</c> reply: a created item is about 300 bytes unfiltered, a rejected one with its
    /// error and <c>caused_by</c> chain rarely over 1 KiB, besides what it quotes of the document.
    /// </summary>
    public const int PerItem = 4096;

    /// <summary>Far above any honest reply, and still small enough for an int-sized buffer.</summary>
    public const int Ceiling = 1024 * 1024 * 1024;

    /// <summary>
    /// For a <c>_bulk</c> request of <paramref name="documents"/> documents and <paramref name="requestBytes"/>
    /// uncompressed bytes: <see cref="Default"/>, plus <see cref="PerItem"/> per document, plus twice the request,
    /// because an error's reason may quote a field's value (<c>For input string: "…"</c>), at most in its reason
    /// and in its <c>caused_by</c>. 1,600 process documents of about 1.5 KB: 12 MiB.
    /// </summary>
    public static int ForBulk(int documents, long requestBytes) =>
        (int)Math.Min(Ceiling, Default + ((long)documents * PerItem) + (2 * requestBytes));
}
