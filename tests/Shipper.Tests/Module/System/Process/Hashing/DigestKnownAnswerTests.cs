using global::System.Security.Cryptography;
using global::System.Text;
using Shipper.Module.System.Process.Hashing;

namespace Shipper.Tests.Module.System.Process.Hashing;

/// <summary>
/// Published test vectors: FIPS 180-4 / NIST CSRC examples for SHA-224 and SHA-512/t, FIPS 202 examples for
/// SHA3-224, RFC 7693 Appendix A for BLAKE2b-512, the xxHash reference sanity vectors for XXH64.
/// </summary>
public class DigestKnownAnswerTests
{
    private const string Abc = "abc";
    private const string TwoBlock448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    private const string TwoBlock896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

    [Theory]
    [InlineData("", "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f")]
    [InlineData(Abc, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7")]
    [InlineData(TwoBlock448, "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525")]
    public void Sha224MatchesNist(string message, string expected) =>
        Assert.Equal(expected, Hex(HashType.Sha224, Encoding.ASCII.GetBytes(message)));

    [Fact]
    public void Sha224OfAMillionAs() =>
        Assert.Equal("20794655980c91d8bbb4c1ea97618a4bf03f42581948b2ee4ee7ad67", Hex(HashType.Sha224, MillionAs()));

    [Theory]
    [InlineData(Abc, "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa")]
    [InlineData(TwoBlock896, "23fec5bb94d60b23308192640b0c453335d664734fe40e7268674af9")]
    public void Sha512_224MatchesNist(string message, string expected) =>
        Assert.Equal(expected, Hex(HashType.Sha512_224, Encoding.ASCII.GetBytes(message)));

    [Theory]
    [InlineData(Abc, "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23")]
    [InlineData(TwoBlock896, "3928e184fb8690f840da3988121d31be65cb9d3ef83ee6146feac861e19b563a")]
    public void Sha512_256MatchesNist(string message, string expected) =>
        Assert.Equal(expected, Hex(HashType.Sha512_256, Encoding.ASCII.GetBytes(message)));

    [Theory]
    [InlineData("", "6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7")]
    [InlineData(Abc, "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf")]
    [InlineData(TwoBlock448, "8a24108b154ada21c9fd5574494479ba5c7e7ab76ef264ead0fcce33")]
    [InlineData(TwoBlock896, "543e6868e1666c1a643630df77367ae5a62a85070a51c14cbf665cbc")]
    public void Sha3_224MatchesFips202Examples(string message, string expected) =>
        Assert.Equal(expected, Hex(HashType.Sha3_224, Encoding.ASCII.GetBytes(message)));

    [Fact]
    public void Blake2b512MatchesRfc7693AppendixA() =>
        Assert.Equal(
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1" +
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
            Hex(HashType.Blake2b_512, "abc"u8.ToArray()));

    [Fact]
    public void Blake2bOfTheEmptyMessage()
    {
        Assert.Equal(
            "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419" +
            "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce",
            Hex(HashType.Blake2b_512, []));
        // The digest length is a parameter, not a truncation: BLAKE2b-256 is not a prefix of BLAKE2b-512.
        Assert.Equal("0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8", Hex(HashType.Blake2b_256, []));
    }

    [Theory]
    [InlineData("", "ef46db3751d8e999")]
    [InlineData("a", "d24ec4f1a98c6e5b")]
    [InlineData("abc", "44bc2cf5ad770999")]
    [InlineData("Nobody inspects the spammish repetition", "fbcea83c8a378bf1")]
    public void Xxh64MatchesReferenceVectors(string message, string expected) =>
        Assert.Equal(expected, Hex(HashType.Xxh64, Encoding.ASCII.GetBytes(message)));

    [Theory]
    [InlineData(0, "ef46db3751d8e999")]
    [InlineData(1, "4fce394cc88952d8")]
    [InlineData(14, "cffa8db881bc3a3d")]
    [InlineData(101, "0eab543384f878ad")]
    public void Xxh64MatchesTheXxhsumSanityBuffer(int length, string expected)
    {
        // xxhsum's sanity buffer: each byte is the top byte of a running square, seeded with PRIME32_1.
        var buffer = new byte[length];
        ulong generator = 2654435761U;
        for (var i = 0; i < length; i++)
        {
            buffer[i] = (byte)(generator >> 24);
            generator = (uint)(generator * generator);
        }

        Assert.Equal(expected, Hex(HashType.Xxh64, buffer));
    }

    [Fact]
    public void Sha512TruncatedInitialValuesFollowTheFips180GenerationFunction()
    {
        // FIPS 180-4 §5.3.6: SHA-512 with its IV XORed with a5a5…, applied to the ASCII string "SHA-512/t".
        var modified = new ulong[8];
        for (var i = 0; i < 8; i++)
        {
            modified[i] = Sha512Core.Sha512InitialValue[i] ^ 0xa5a5a5a5a5a5a5a5UL;
        }

        foreach (var (name, expected) in new[] { ("SHA-512/224", Sha512Core.Sha512_224InitialValue), ("SHA-512/256", Sha512Core.Sha512_256InitialValue) })
        {
            var core = new Sha512Core(modified);
            core.Append(Encoding.ASCII.GetBytes(name));
            var digest = new byte[64];
            core.Finish(digest);
            for (var i = 0; i < 8; i++)
            {
                Assert.Equal(expected[i], global::System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest.AsSpan(i * 8)));
            }
        }
    }

    [Fact]
    public void ManagedShaCoresAgreeWithThePlatformSha256AndSha512()
    {
        // With the SHA-256/384/512 IVs our cores must reproduce the platform's digests: this checks the
        // compression functions, constants and padding that SHA-224 and SHA-512/t rely on.
        var random = new Random(7);
        var sha256 = new Sha256Core(Sha256Core.Sha256InitialValue);
        var sha512 = new Sha512Core(Sha512Core.Sha512InitialValue);
        var sha384 = new Sha512Core(Sha512Core.Sha384InitialValue);
        for (var length = 0; length < 600; length += 7)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Feed(random, data, sha256.Append);
            Feed(random, data, sha512.Append);
            Feed(random, data, sha384.Append);
            var d256 = new byte[32];
            var d512 = new byte[64];
            var d384 = new byte[48];
            sha256.Finish(d256);
            sha512.Finish(d512);
            sha384.Finish(d384);
            Assert.Equal(SHA256.HashData(data), d256);
            Assert.Equal(SHA512.HashData(data), d512);
            Assert.Equal(SHA384.HashData(data), d384);
        }
    }

    [Fact]
    public void ManagedSha3AgreesWithThePlatformSha3()
    {
        Assert.True(SHA3_256.IsSupported, "this machine's OpenSSL should provide SHA-3");
        var random = new Random(11);
        var ours = new[] { Sha3.Create256(), Sha3.Create384(), Sha3.Create512() };
        for (var length = 0; length < 700; length += 13)
        {
            var data = new byte[length];
            random.NextBytes(data);
            var expected = new[] { SHA3_256.HashData(data), SHA3_384.HashData(data), SHA3_512.HashData(data) };
            for (var i = 0; i < ours.Length; i++)
            {
                Feed(random, data, ours[i].Append);
                var digest = new byte[ours[i].Length];
                ours[i].Finish(digest);
                Assert.Equal(expected[i], digest);
            }
        }
    }

    [Fact]
    public void EveryAlgorithmGivesTheSameDigestHoweverTheInputIsSplit()
    {
        var random = new Random(3);
        var data = new byte[1000];
        random.NextBytes(data);
        foreach (var type in HashTypeNames.All)
        {
            var whole = Hex(type, data);
            var digest = DigestFactory.Create(type);
            for (var round = 0; round < 5; round++)
            {
                Feed(random, data, digest.Append);
                var bytes = new byte[digest.Length];
                digest.Finish(bytes);
                Assert.Equal(whole, Convert.ToHexStringLower(bytes));
            }

            // Finish resets: an empty message after a long one hashes as empty.
            var empty = new byte[digest.Length];
            digest.Finish(empty);
            Assert.Equal(Hex(type, []), Convert.ToHexStringLower(empty));
        }
    }

    internal static string Hex(HashType type, byte[] data)
    {
        var digest = DigestFactory.Create(type);
        digest.Append(data);
        var bytes = new byte[digest.Length];
        digest.Finish(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    private static byte[] MillionAs()
    {
        var data = new byte[1_000_000];
        Array.Fill(data, (byte)'a');
        return data;
    }

    private delegate void Append(ReadOnlySpan<byte> data);

    private static void Feed(Random random, byte[] data, Append append)
    {
        var offset = 0;
        while (offset < data.Length)
        {
            var take = Math.Min(data.Length - offset, random.Next(0, 300));
            append(data.AsSpan(offset, take));
            offset += take;
        }
    }
}
