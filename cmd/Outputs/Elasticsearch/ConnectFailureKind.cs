namespace Shipper.Outputs.Elasticsearch;

public enum ConnectFailureKind
{
    /// <summary>DNS, TCP, TLS or timeout: nothing usable came back.</summary>
    Network,

    /// <summary>401 or 403: the credentials are wrong or lack privileges; retrying soon will not help.</summary>
    Authentication,

    /// <summary>The server answered but is not an Elasticsearch we can ship to (product, version).</summary>
    Refused,

    /// <summary>Elasticsearch answered with an error status.</summary>
    ServerError,
}
