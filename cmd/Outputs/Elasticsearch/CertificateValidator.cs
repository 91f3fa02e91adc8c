using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// Checks the server's certificate as libbeat's <c>ssl.verification_mode</c> says, against
/// <c>ssl.certificate_authorities</c> when given (only those CAs, as Go's RootCAs) or the system store.
/// Remembers why it refused, because the TLS exception itself only says "rejected by the callback".
/// </summary>
public sealed class CertificateValidator
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private readonly SslSettings _ssl;
    private string? _lastFailure;

    public CertificateValidator(SslSettings ssl) => _ssl = ssl;

    public TlsVerificationMode Mode => _ssl.Enabled ? _ssl.VerificationMode : TlsVerificationMode.Full;

    /// <summary>Why the last certificate was refused, for the connection error message.</summary>
    public string? LastFailure => Volatile.Read(ref _lastFailure);

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var mode = Mode;
        if (mode == TlsVerificationMode.None)
        {
            return true;
        }

        if (certificate is null)
        {
            return Fail("the server sent no certificate");
        }

        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (_ssl.Enabled && _ssl.CertificateAuthorities.Count > 0)
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_ssl.CertificateAuthorities);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
            {
                for (var i = 1; i < chain.ChainElements.Count; i++)
                {
                    custom.ChainPolicy.ExtraStore.Add(chain.ChainElements[i].Certificate);
                }
            }

            if (!custom.Build(leaf))
            {
                return Fail($"the certificate of '{leaf.Subject}' is not signed by a CA in ssl.certificate_authorities ({Describe(custom)})");
            }
        }
        else if ((errors & (SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return Fail($"the certificate of '{leaf.Subject}' is not trusted by the system CAs ({(chain is null ? "no chain" : Describe(chain))}); set output.elasticsearch.ssl.certificate_authorities");
        }

        if (mode is TlsVerificationMode.Full or TlsVerificationMode.Strict && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return Fail($"the certificate of '{leaf.Subject}' does not name the host '{TargetHost(sender)}'");
        }

        if (mode == TlsVerificationMode.Strict && leaf.Extensions[SubjectAltNameOid] is null)
        {
            return Fail($"the certificate of '{leaf.Subject}' has no Subject Alternative Name (ssl.verification_mode: strict)");
        }

        return true;
    }

    private static string TargetHost(object sender) => sender is SslStream stream ? stream.TargetHostName : "?";

    private static string Describe(X509Chain chain)
    {
        var parts = new List<string>();
        foreach (var status in chain.ChainStatus)
        {
            parts.Add(status.StatusInformation.Trim().TrimEnd('.'));
        }

        return parts.Count == 0 ? "unknown chain error" : string.Join("; ", parts);
    }

    private bool Fail(string reason)
    {
        Volatile.Write(ref _lastFailure, reason);
        return false;
    }
}
