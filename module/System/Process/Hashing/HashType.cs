namespace Shipper.Module.System.Process.Hashing;

/// <summary>The digest algorithms Auditbeat's hasher accepts (FACTS §3); names live in <see cref="HashTypeNames"/>.</summary>
public enum HashType
{
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
    Blake2b_256,
    Blake2b_384,
    Blake2b_512,
    Xxh64,
}
