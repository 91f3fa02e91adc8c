using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Shipper.Module.Config;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// <c>output.elasticsearch.ssl.*</c>. Certificates and keys are loaded while parsing so that a wrong path or
/// a bad PEM is reported as a config error naming the setting, not as a failed connection later.
/// </summary>
public sealed class SslSettings
{
    public static readonly SslSettings Disabled = new(false, TlsVerificationMode.Full, new X509Certificate2Collection(), null, SslProtocols.None);

    public SslSettings(bool enabled, TlsVerificationMode verificationMode, X509Certificate2Collection certificateAuthorities, X509Certificate2? clientCertificate, SslProtocols protocols)
    {
        Enabled = enabled;
        VerificationMode = verificationMode;
        CertificateAuthorities = certificateAuthorities;
        ClientCertificate = clientCertificate;
        Protocols = protocols;
    }

    /// <summary>False when the section is absent or <c>enabled: false</c>: https hosts then use the system CAs and full verification.</summary>
    public bool Enabled { get; }

    public TlsVerificationMode VerificationMode { get; }

    /// <summary>Empty means the system trust store.</summary>
    public X509Certificate2Collection CertificateAuthorities { get; }

    /// <summary>For PKI authentication (<c>ssl.certificate</c> + <c>ssl.key</c>).</summary>
    public X509Certificate2? ClientCertificate { get; }

    /// <summary><see cref="SslProtocols.None"/> lets the OS choose (TLS 1.2 and 1.3).</summary>
    public SslProtocols Protocols { get; }

    public static SslSettings Parse(ConfigSection ssl)
    {
        var present = ssl.Map.Count > 0;
        var enabled = ssl.Bool("enabled", present);
        var mode = ssl.Choice("verification_mode", "full", "full", "strict", "certificate", "none") switch
        {
            "strict" => TlsVerificationMode.Strict,
            "certificate" => TlsVerificationMode.Certificate,
            "none" => TlsVerificationMode.None,
            _ => TlsVerificationMode.Full,
        };

        var authorities = new X509Certificate2Collection();
        var caNode = ssl.Find("certificate_authorities");
        var caList = ssl.StringList("certificate_authorities", Array.Empty<string>());
        for (var i = 0; i < caList.Count; i++)
        {
            var itemNode = caNode is ConfigList list ? list.Items[i] : caNode!;
            var pem = ReadPem(caList[i], itemNode, "CA certificate");
            try
            {
                var before = authorities.Count;
                authorities.ImportFromPem(pem);
                if (authorities.Count == before)
                {
                    throw itemNode.Error($"no certificate found in {Describe(caList[i])}");
                }
            }
            catch (CryptographicException e)
            {
                throw itemNode.Error($"cannot read the CA certificate in {Describe(caList[i])}: {e.Message}");
            }
        }

        var certificate = ssl.OptionalString("certificate");
        var key = ssl.OptionalString("key");
        var passphrase = ssl.OptionalString("key_passphrase");
        X509Certificate2? client = null;
        if (certificate is not null || key is not null)
        {
            if (certificate is null || key is null)
            {
                throw ssl.Error(certificate is null ? "key" : "certificate", "ssl.certificate and ssl.key must be set together");
            }

            var certPem = ReadPem(certificate, ssl.Find("certificate")!, "certificate");
            var keyPem = ReadPem(key, ssl.Find("key")!, "key");
            try
            {
                using var loaded = passphrase is null
                    ? X509Certificate2.CreateFromPem(certPem, keyPem)
                    : X509Certificate2.CreateFromEncryptedPem(certPem, keyPem, passphrase);

                // A PEM-loaded key is ephemeral; a PKCS#12 round trip gives SslStream a key it can always use.
                client = X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
            }
            catch (CryptographicException e)
            {
                throw ssl.Error("key", $"cannot load the client certificate and key: {e.Message}");
            }
        }

        var protocols = SslProtocols.None;
        if (ssl.Has("supported_protocols"))
        {
            foreach (var name in ssl.StringList("supported_protocols", Array.Empty<string>()))
            {
                protocols |= name switch
                {
                    "TLSv1.2" => SslProtocols.Tls12,
                    "TLSv1.3" => SslProtocols.Tls13,
                    _ => throw ssl.Error("supported_protocols", $"'{name}' is not supported: use TLSv1.2 and/or TLSv1.3"),
                };
            }
        }

        return new SslSettings(enabled, mode, authorities, client, protocols);
    }

    /// <summary>libbeat accepts either a file path or the PEM text itself.</summary>
    private static string ReadPem(string value, ConfigNode node, string what)
    {
        if (value.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            return value;
        }

        try
        {
            return File.ReadAllText(value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw node.Error($"cannot read the {what} file '{value}': {e.Message}");
        }
    }

    private static string Describe(string value) => value.Contains("-----BEGIN", StringComparison.Ordinal) ? "the inline PEM" : $"'{value}'";
}
