namespace Shipper;

public static class Program
{
    public static int Main(string[] args) => Cli.CommandLine.Run(args);
}
