using Shipper.Module.Config;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// One entry of <c>output.elasticsearch.hosts</c>, normalised the way libbeat's MakeURL does: a missing
/// scheme comes from <c>protocol</c> (default http), a missing port is 9200, a missing path comes from
/// <c>path</c>. Credentials written into the URL are taken out of it (they must never be logged).
/// </summary>
public sealed class ElasticsearchHost
{
    public const int DefaultPort = 9200;

    private ElasticsearchHost(Uri baseUri, string? username, string? password)
    {
        BaseUri = baseUri;
        Username = username;
        Password = password;
        Display = baseUri.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }

    /// <summary>Scheme, host, port and path prefix, without credentials and without a trailing slash.</summary>
    public Uri BaseUri { get; }

    /// <summary>The URL as it may appear in logs and reports.</summary>
    public string Display { get; }

    public string? Username { get; }

    public string? Password { get; }

    public bool IsHttps => BaseUri.Scheme == Uri.UriSchemeHttps;

    /// <summary>The absolute URL of an API path (<c>_bulk</c>, <c>_index_template/x</c>) below the host's path prefix.</summary>
    public Uri Api(string relativePath, string? query = null)
    {
        var prefix = Display;
        var url = relativePath.Length == 0 ? prefix + "/" : prefix + "/" + relativePath;
        return new Uri(string.IsNullOrEmpty(query) ? url : url + "?" + query, UriKind.Absolute);
    }

    public override string ToString() => Display;

    /// <summary>Parses one host entry; <paramref name="node"/> names the setting in errors.</summary>
    public static ElasticsearchHost Parse(string raw, string? protocol, string? path, ConfigNode node)
    {
        var text = raw.Trim();
        if (text.Length == 0)
        {
            throw node.Error("a host must not be empty; write host:port or a URL such as https://es.example.com:9200");
        }

        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            text = (string.IsNullOrEmpty(protocol) ? "http" : protocol) + "://" + text;
            schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        }

        var scheme = text[..schemeEnd].ToLowerInvariant();
        if (scheme is not ("http" or "https"))
        {
            throw node.Error($"'{Redact(raw)}' uses the scheme '{scheme}': only http and https are supported");
        }

        // Uri hides whether a port was written when it equals the scheme's default, so look at the authority text.
        var authorityStart = schemeEnd + 3;
        var authorityEnd = text.IndexOfAny(new[] { '/', '?', '#' }, authorityStart);
        var authority = authorityEnd < 0 ? text[authorityStart..] : text[authorityStart..authorityEnd];
        var at = authority.LastIndexOf('@');
        var hostPort = at >= 0 ? authority[(at + 1)..] : authority;
        var hasPort = hostPort.StartsWith('[') ? hostPort.Contains("]:", StringComparison.Ordinal) : hostPort.Contains(':');

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            throw node.Error($"'{Redact(raw)}' is not a valid host: write host:port or a URL such as https://es.example.com:9200");
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw node.Error($"'{Redact(raw)}' has a query or fragment; put URL parameters in output.elasticsearch.parameters");
        }

        string? username = null;
        string? password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':');
            username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }

        var pathPart = uri.AbsolutePath.TrimEnd('/');
        if (pathPart.Length == 0 && !string.IsNullOrEmpty(path))
        {
            pathPart = "/" + path.Trim('/');
        }

        var builder = new UriBuilder(scheme, uri.Host, hasPort ? uri.Port : DefaultPort, pathPart.Length == 0 ? "/" : pathPart);
        return new ElasticsearchHost(builder.Uri, username, password);
    }

    /// <summary>Hides the password of a URL written with credentials (https://user:secret@host → https://user:xxxxx@host).</summary>
    public static string Redact(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var start = schemeEnd < 0 ? 0 : schemeEnd + 3;
        var end = url.IndexOfAny(new[] { '/', '?', '#' }, start);
        var authority = end < 0 ? url[start..] : url[start..end];
        var at = authority.LastIndexOf('@');
        if (at < 0)
        {
            return url;
        }

        var colon = authority.IndexOf(':');
        if (colon < 0 || colon > at)
        {
            return url;
        }

        return url[..(start + colon + 1)] + "xxxxx" + url[(start + at)..];
    }
}
