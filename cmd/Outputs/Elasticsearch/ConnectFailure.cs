namespace Shipper.Outputs.Elasticsearch;

/// <summary>Why a host could not be used; the message names the host and the reason and can be logged as it is.</summary>
public sealed class ConnectFailure : Exception
{
    public ConnectFailure(ConnectFailureKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    public ConnectFailureKind Kind { get; }
}
