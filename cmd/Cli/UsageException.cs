namespace Shipper.Cli;

/// <summary>A command line that cannot be understood; printed with the usage text, exit code 1.</summary>
public sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }
}
