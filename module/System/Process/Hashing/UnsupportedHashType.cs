namespace Shipper.Module.System.Process.Hashing;

/// <summary>A configured algorithm this platform cannot compute, and why (shown by <c>shipper test config</c>).</summary>
public readonly record struct UnsupportedHashType(HashType Type, string Reason)
{
    public string Name => HashTypeNames.Name(Type);
}
