namespace Shipper.Cli;

// SKELETON: the CLI lands with the foundation issue.
public static class CommandLine
{
    public static int Run(string[] args) => 0;
}
