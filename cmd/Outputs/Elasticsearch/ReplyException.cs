namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// A reply that could not be read whole: over its <see cref="ReplyLimit"/>, ended early, or not decodable.
/// An <see cref="IOException"/>, so every caller fails and retries the request as after a broken connection.
/// </summary>
public sealed class ReplyException : IOException
{
    public ReplyException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
