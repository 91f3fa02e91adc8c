using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Shipper.Module.System.Process.Documents;

namespace Shipper.Tests.Module.System.Process.Documents;

public class EntityIdTests
{
    [Fact]
    public void MatchesTheDefinitionForHostIdsOfEveryLength()
    {
        // Host ids of 0-130 bytes put the hashed input in one, two or three SHA-256 blocks, across the padding
        // boundaries; negative and large start times too. The reference is the definition with the platform's
        // SHA-256.
        foreach (var length in Enumerable.Range(0, 131))
        {
            var host = new string((char)('a' + (length % 26)), length);
            var entityId = new EntityId(host);
            foreach (var (pid, start) in new[] { (1, 0L), (4_194_303, 1_764_000_000_123_456_789L), (77, -1L) })
            {
                Assert.Equal(Reference(host, pid, start), entityId.Compute(pid, start));
            }
        }
    }

    private static string Reference(string host, int pid, long start)
    {
        var nanos = ((start % 1_000_000_000) + 1_000_000_000) % 1_000_000_000;
        var input = new byte[Encoding.UTF8.GetByteCount(host) + 16];
        Encoding.UTF8.GetBytes(host, input);
        BinaryPrimitives.WriteInt64LittleEndian(input.AsSpan(input.Length - 16), pid);
        BinaryPrimitives.WriteInt64LittleEndian(input.AsSpan(input.Length - 8), nanos);
        return Convert.ToBase64String(SHA256.HashData(input)[..12]);
    }
}
