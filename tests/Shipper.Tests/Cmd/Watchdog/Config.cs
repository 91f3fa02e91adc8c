using Shipper.Module.Config;

namespace Shipper.Tests.Cmd.Watchdog;

/// <summary>Builds a config section by hand, with made-up file positions so errors can be checked for them.</summary>
public static class Config
{
    public static ConfigSection Section(string path, params (string Key, string Value)[] entries)
    {
        var map = new ConfigMap(path, new SourceLocation("shipper.yml", 1, 1));
        var line = 2;
        foreach (var (key, value) in entries)
        {
            map.Set(key, new ConfigScalar(path + "." + key, new SourceLocation("shipper.yml", line++, 3), value, isQuoted: false));
        }

        return new ConfigSection(map, new ConfigReadTracker());
    }
}
