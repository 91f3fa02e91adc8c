namespace Shipper.Tests.Support;

/// <summary>
/// A long measurement rather than a test: it runs only when <c>variable</c> is set (its value is the run's
/// parameter, e.g. a duration), so neither a developer's <c>dotnet test</c> nor CI pays for it. It needs root
/// and the real kernel as <see cref="KernelFactAttribute"/> tests do.
/// </summary>
public sealed class BenchmarkFactAttribute : FactAttribute
{
    public BenchmarkFactAttribute(string variable)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
        {
            Skip = $"a benchmark: runs only when {variable} is set";
        }
        else if (!TestEnvironment.IsRoot)
        {
            Skip = "needs root and the real kernel";
        }
    }
}
