using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary><c>http.*</c>: the local monitoring endpoint (/ and /stats).</summary>
public sealed record HttpSettings(bool Enabled, string Host, int Port)
{
    public static HttpSettings Parse(ConfigSection http) => new(
        http.Bool("enabled", false),
        http.String("host", "localhost"),
        http.Int("port", 5066, min: 0, max: 65535));
}
