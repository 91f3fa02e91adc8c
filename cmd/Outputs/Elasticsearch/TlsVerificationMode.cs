namespace Shipper.Outputs.Elasticsearch;

/// <summary>libbeat's <c>ssl.verification_mode</c>.</summary>
public enum TlsVerificationMode
{
    /// <summary>The chain must lead to a trusted CA and the host name must match the certificate.</summary>
    Full,

    /// <summary>As <see cref="Full"/>, and the certificate must carry a Subject Alternative Name.</summary>
    Strict,

    /// <summary>The chain must lead to a trusted CA; the host name is not checked.</summary>
    Certificate,

    /// <summary>Nothing is checked. Only for testing: anyone on the path can read and change the traffic.</summary>
    None,
}
