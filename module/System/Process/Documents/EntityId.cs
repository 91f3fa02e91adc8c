using System.Buffers.Binary;
using System.Text;
using Shipper.Module.System.Process.Hashing;

namespace Shipper.Module.System.Process.Documents;

/// <summary>
/// <c>process.entity_id</c> as Auditbeat computes it: SHA-256 over the host id bytes, the pid as int64
/// little-endian and the nanosecond-within-second part of the start time as int64 little-endian; the first 12
/// bytes of the digest in base64 without padding (16 characters).
/// </summary>
public sealed class EntityId
{
    private readonly byte[] _buffer;
    private readonly int _hostLength;
    private readonly Sha256Core _sha256 = new(Sha256Core.Sha256InitialValue);

    public EntityId(string hostId)
    {
        _hostLength = Encoding.UTF8.GetByteCount(hostId);
        _buffer = new byte[_hostLength + 16];
        Encoding.UTF8.GetBytes(hostId, _buffer);
    }

    /// <summary>Not thread-safe: one instance per mapping thread.</summary>
    public string Compute(int pid, long startUnixNanoseconds)
    {
        var nanosWithinSecond = startUnixNanoseconds % 1_000_000_000;
        if (nanosWithinSecond < 0)
        {
            nanosWithinSecond += 1_000_000_000;
        }

        BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_hostLength), pid);
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_hostLength + 8), nanosWithinSecond);
        // Our own SHA-256 rather than OpenSSL's: for one 64-byte block the call into OpenSSL costs more than
        // the hashing (about 1.3 us against 0.3 us per document).
        Span<byte> digest = stackalloc byte[32];
        _sha256.Reset();
        _sha256.Append(_buffer);
        _sha256.Finish(digest);
        return Convert.ToBase64String(digest[..12]);
    }
}
