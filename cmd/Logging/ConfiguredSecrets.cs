using System.Text;
using Shipper.Config;
using Shipper.Module.Config;
using Shipper.Module.Logging;

namespace Shipper.Logging;

/// <summary>
/// Builds the <see cref="SecretRedactor"/> for a configuration: every value <c>export config</c> would redact
/// (passwords, API keys, key passphrases, secret headers, the password in a host or proxy URL), the encoded
/// forms the Elasticsearch output sends of them (<c>Basic</c> and <c>ApiKey</c> authorization), and the
/// <c>key=value</c> forms of secret settings.
/// </summary>
public static class ConfiguredSecrets
{
    /// <summary>Before a configuration is loaded: only <c>key=value</c> forms and URL passwords.</summary>
    public static SecretRedactor KeyFormsOnly { get; } = new(Array.Empty<string>(), ConfigExporter.RedactSetting);

    public static SecretRedactor From(ConfigMap root)
    {
        var values = new List<string>();
        string? username = null;
        string? password = null;
        Collect(root, values, ref username, ref password);
        if (username is not null && password is not null)
        {
            values.Add(Convert.ToBase64String(Encoding.UTF8.GetBytes(username + ":" + password)));
        }

        return new SecretRedactor(values, ConfigExporter.RedactSetting);
    }

    private static void Collect(ConfigNode node, List<string> values, ref string? username, ref string? password)
    {
        switch (node)
        {
            case ConfigMap map:
                foreach (var (_, child) in map.Entries)
                {
                    Collect(child, values, ref username, ref password);
                }

                break;
            case ConfigList list:
                foreach (var item in list.Items)
                {
                    Collect(item, values, ref username, ref password);
                }

                break;
            case ConfigScalar { IsNull: false } scalar:
                AddSecret(scalar.Path, scalar.Value, values, ref username, ref password);
                break;
        }
    }

    private static void AddSecret(string path, string value, List<string> values, ref string? username, ref string? password)
    {
        if (path.Equals("output.elasticsearch.username", StringComparison.OrdinalIgnoreCase))
        {
            username = value;
            return;
        }

        var shown = ConfigExporter.RedactSetting(path, value);
        if (shown == value)
        {
            return;
        }

        if (shown == ConfigExporter.Redacted)
        {
            values.Add(value);

            // What goes over the wire: Authorization: ApiKey base64(id:key), Basic base64(user:password).
            values.Add(Convert.ToBase64String(Encoding.UTF8.GetBytes(value)));
            if (path.Equals("output.elasticsearch.password", StringComparison.OrdinalIgnoreCase))
            {
                password = value;
            }

            // A header value is "<scheme> <credentials>" (Bearer, ApiKey, Basic): the credentials alone are secret too.
            if (value.LastIndexOf(' ') is var space and > 0)
            {
                values.Add(value[(space + 1)..]);
            }

            // An API key is id:key, and the key alone is the secret part.
            if (path.EndsWith(".api_key", StringComparison.OrdinalIgnoreCase) && value.IndexOf(':') is var colon and > 0)
            {
                values.Add(value[(colon + 1)..]);
            }

            return;
        }

        // A URL whose password the redacted form shows as xxxxx: what differs is the password.
        var mask = shown.IndexOf(":xxxxx@", StringComparison.Ordinal);
        if (mask >= 0)
        {
            var start = mask + 1;
            var suffix = shown.Length - (start + "xxxxx".Length);
            if (value.Length - suffix > start)
            {
                var urlPassword = value[start..(value.Length - suffix)];
                values.Add(urlPassword);
                var userStart = value.IndexOf("://", StringComparison.Ordinal) is var scheme and >= 0 ? scheme + 3 : 0;
                if (mask > userStart)
                {
                    values.Add(Convert.ToBase64String(Encoding.UTF8.GetBytes(value[userStart..mask] + ":" + urlPassword)));
                }
            }
        }
    }
}
