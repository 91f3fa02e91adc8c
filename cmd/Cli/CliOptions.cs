namespace Shipper.Cli;

/// <summary>What the command line asked for: the verb and the global flags (beats conventions).</summary>
public sealed class CliOptions
{
    public List<string> Verb { get; } = new();

    /// <summary><c>-c</c>; relative paths are resolved against path.config.</summary>
    public string ConfigFile { get; set; } = "shipper.yml";

    public bool ConfigFileGiven { get; set; }

    /// <summary><c>-e</c>: log to stderr instead of files.</summary>
    public bool LogToStderr { get; set; }

    /// <summary><c>-d</c>: debug selectors (<c>*</c> for all).</summary>
    public List<string> DebugSelectors { get; } = new();

    /// <summary><c>-E key=value</c>, in order; later ones win.</summary>
    public List<string> Overrides { get; } = new();

    public string PathHome { get; set; } = "";

    public string PathConfig { get; set; } = "";

    public string PathData { get; set; } = "";

    public string PathLogs { get; set; } = "";

    public bool StrictPerms { get; set; } = true;

    public bool DisableWatchdog { get; set; }

    public bool IndexManagement { get; set; }

    public bool Help { get; set; }
}
