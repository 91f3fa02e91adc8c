namespace Shipper.Tests.Support;

/// <summary>
/// A test that needs the real kernel as root (proc connector, namespaces, real-time scheduling). Outside CI it
/// is skipped when we are not root; inside CI (<c>CI=true</c>) it always runs, so a missing capability fails.
/// </summary>
public sealed class KernelFactAttribute : FactAttribute
{
    public KernelFactAttribute()
    {
        if (!TestEnvironment.IsCi && !TestEnvironment.IsRoot)
        {
            Skip = "needs root and the real kernel (always runs when CI=true)";
        }
    }
}
