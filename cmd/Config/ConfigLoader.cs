using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary>
/// Finds, checks, reads and overrides the config file: strict permissions, YAML, <c>-E</c> overrides, then
/// the host settings. A relative <c>-c</c> is resolved against <c>--path.config</c> when given, else the
/// current directory; without <c>-c</c> the file is <c>shipper.yml</c> in path.config.
/// </summary>
public static class ConfigLoader
{
    public static ShipperSettings Load(string configFile, bool configFileGiven, IReadOnlyList<string> overrides, PathSettings cliPaths, bool strictPerms, Func<string, string?>? environment = null)
    {
        var path = ResolvePath(configFile, configFileGiven, cliPaths);
        if (strictPerms)
        {
            StrictPermissions.Check(path);
        }

        var loader = new YamlConfigLoader();
        var root = loader.LoadFile(path);
        ConfigOverrides.Apply(root, overrides, loader);
        ConfigVariables.Expand(root, cliPaths, environment);
        return ShipperSettings.Parse(root, cliPaths, path);
    }

    public static string ResolvePath(string configFile, bool configFileGiven, PathSettings cliPaths)
    {
        if (Path.IsPathRooted(configFile))
        {
            return configFile;
        }

        if (cliPaths.Config.Length > 0)
        {
            return Path.GetFullPath(Path.Combine(cliPaths.Config, configFile));
        }

        if (configFileGiven)
        {
            return Path.GetFullPath(configFile);
        }

        var home = cliPaths.Home.Length > 0 ? cliPaths.Home : AppContext.BaseDirectory;
        return Path.GetFullPath(Path.Combine(home, configFile));
    }
}
