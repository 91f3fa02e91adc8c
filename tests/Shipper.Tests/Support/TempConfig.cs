namespace Shipper.Tests.Support;

/// <summary>A config file in a private temp directory, mode 0600, removed on dispose.</summary>
public sealed class TempConfig : IDisposable
{
    /// <summary>
    /// The config most runs of the real binary start from: the process dataset to stdout, no periodic metrics
    /// lines in the log. Settings may follow it at the top level.
    /// </summary>
    public const string ProcessesToConsole = """
        shipper.modules:
          - module: system
            datasets: [process]
        output.console:
          enabled: true
        logging.metrics.enabled: false
        """;

    public TempConfig(string yaml, string name = "shipper.yml")
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("shipper-test-").FullName;
        Path = System.IO.Path.Combine(Directory, name);
        File.WriteAllText(Path, yaml);
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public string Directory { get; }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
