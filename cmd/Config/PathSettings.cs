namespace Shipper.Config;

/// <summary>
/// <c>path.*</c>. Home defaults to the directory of the binary; config, data and logs default to home,
/// home/data and home/logs, as in beats. Command-line flags win over the file.
/// </summary>
public sealed record PathSettings(string Home, string Config, string Data, string Logs);
