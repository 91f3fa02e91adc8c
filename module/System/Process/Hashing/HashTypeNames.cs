namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// The configuration and field names of <see cref="HashType"/> (<c>process.hash.&lt;name&gt;</c>), parsed
/// case-insensitively as Auditbeat does.
/// </summary>
public static class HashTypeNames
{
    private static readonly string[] Names =
    [
        "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha512_224", "sha512_256",
        "sha3_224", "sha3_256", "sha3_384", "sha3_512", "blake2b_256", "blake2b_384", "blake2b_512", "xxh64",
    ];

    /// <summary>Every valid name, comma separated, for error messages.</summary>
    public static string ValidNames { get; } = string.Join(", ", Names);

    public static IReadOnlyList<HashType> All { get; } = Enum.GetValues<HashType>();

    public static string Name(HashType type) => Names[(int)type];

    public static bool TryParse(string text, out HashType type)
    {
        var trimmed = text.AsSpan().Trim();
        for (var i = 0; i < Names.Length; i++)
        {
            if (trimmed.Equals(Names[i], StringComparison.OrdinalIgnoreCase))
            {
                type = (HashType)i;
                return true;
            }
        }

        type = default;
        return false;
    }
}
