namespace Shipper.Module.System.Process.Hashing;

/// <summary>One digest of a file: the algorithm and the lowercase hex value for <c>process.hash.&lt;name&gt;</c>.</summary>
public readonly record struct HashDigest(HashType Type, string Hex)
{
    public string Name => HashTypeNames.Name(Type);
}
