using global::System.Buffers.Binary;
using global::System.Numerics;
using global::System.Runtime.CompilerServices;
using global::System.Runtime.InteropServices;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// The SHA-512 compression function and padding (FIPS 180-4 §6.4) with a caller-chosen initial value, for
/// SHA-512/224 and SHA-512/256 (§5.3.6: their own IVs, output truncated): .NET offers neither.
/// </summary>
internal sealed class Sha512Core
{
    public const int BlockSize = 128;

    public static readonly ulong[] Sha512InitialValue =
    [
        0x6a09e667f3bcc908UL, 0xbb67ae8584caa73bUL, 0x3c6ef372fe94f82bUL, 0xa54ff53a5f1d36f1UL,
        0x510e527fade682d1UL, 0x9b05688c2b3e6c1fUL, 0x1f83d9abfb41bd6bUL, 0x5be0cd19137e2179UL,
    ];

    public static readonly ulong[] Sha384InitialValue =
    [
        0xcbbb9d5dc1059ed8UL, 0x629a292a367cd507UL, 0x9159015a3070dd17UL, 0x152fecd8f70e5939UL,
        0x67332667ffc00b31UL, 0x8eb44a8768581511UL, 0xdb0c2e0d64f98fa7UL, 0x47b5481dbefa4fa4UL,
    ];

    public static readonly ulong[] Sha512_224InitialValue =
    [
        0x8c3d37c819544da2UL, 0x73e1996689dcd4d6UL, 0x1dfab7ae32ff9c82UL, 0x679dd514582f9fcfUL,
        0x0f6d2b697bd44da8UL, 0x77e36f7304c48942UL, 0x3f9d85a86a1d36c8UL, 0x1112e6ad91d692a1UL,
    ];

    public static readonly ulong[] Sha512_256InitialValue =
    [
        0x22312194fc2bf72cUL, 0x9f555fa3c84c64c2UL, 0x2393b86b6f53b151UL, 0x963877195940eabdUL,
        0x96283ee2a88effe3UL, 0xbe5e1e2553863992UL, 0x2b0199fc2c85b8aaUL, 0x0eb72ddc81c52ca2UL,
    ];

    // First 64 bits of the fractional parts of the cube roots of the first 80 primes (§4.2.3).
    private static ReadOnlySpan<ulong> K =>
    [
        0x428a2f98d728ae22UL, 0x7137449123ef65cdUL, 0xb5c0fbcfec4d3b2fUL, 0xe9b5dba58189dbbcUL,
        0x3956c25bf348b538UL, 0x59f111f1b605d019UL, 0x923f82a4af194f9bUL, 0xab1c5ed5da6d8118UL,
        0xd807aa98a3030242UL, 0x12835b0145706fbeUL, 0x243185be4ee4b28cUL, 0x550c7dc3d5ffb4e2UL,
        0x72be5d74f27b896fUL, 0x80deb1fe3b1696b1UL, 0x9bdc06a725c71235UL, 0xc19bf174cf692694UL,
        0xe49b69c19ef14ad2UL, 0xefbe4786384f25e3UL, 0x0fc19dc68b8cd5b5UL, 0x240ca1cc77ac9c65UL,
        0x2de92c6f592b0275UL, 0x4a7484aa6ea6e483UL, 0x5cb0a9dcbd41fbd4UL, 0x76f988da831153b5UL,
        0x983e5152ee66dfabUL, 0xa831c66d2db43210UL, 0xb00327c898fb213fUL, 0xbf597fc7beef0ee4UL,
        0xc6e00bf33da88fc2UL, 0xd5a79147930aa725UL, 0x06ca6351e003826fUL, 0x142929670a0e6e70UL,
        0x27b70a8546d22ffcUL, 0x2e1b21385c26c926UL, 0x4d2c6dfc5ac42aedUL, 0x53380d139d95b3dfUL,
        0x650a73548baf63deUL, 0x766a0abb3c77b2a8UL, 0x81c2c92e47edaee6UL, 0x92722c851482353bUL,
        0xa2bfe8a14cf10364UL, 0xa81a664bbc423001UL, 0xc24b8b70d0f89791UL, 0xc76c51a30654be30UL,
        0xd192e819d6ef5218UL, 0xd69906245565a910UL, 0xf40e35855771202aUL, 0x106aa07032bbd1b8UL,
        0x19a4c116b8d2d0c8UL, 0x1e376c085141ab53UL, 0x2748774cdf8eeb99UL, 0x34b0bcb5e19b48a8UL,
        0x391c0cb3c5c95a63UL, 0x4ed8aa4ae3418acbUL, 0x5b9cca4f7763e373UL, 0x682e6ff3d6b2b8a3UL,
        0x748f82ee5defb2fcUL, 0x78a5636f43172f60UL, 0x84c87814a1f0ab72UL, 0x8cc702081a6439ecUL,
        0x90befffa23631e28UL, 0xa4506cebde82bde9UL, 0xbef9a3f7b2c67915UL, 0xc67178f2e372532bUL,
        0xca273eceea26619cUL, 0xd186b8c721c0c207UL, 0xeada7dd6cde0eb1eUL, 0xf57d4f7fee6ed178UL,
        0x06f067aa72176fbaUL, 0x0a637dc5a2c898a6UL, 0x113f9804bef90daeUL, 0x1b710b35131c471bUL,
        0x28db77f523047d84UL, 0x32caab7b40c72493UL, 0x3c9ebe0a15c9bebcUL, 0x431d67c49c100d4cUL,
        0x4cc5d4becb3e42b6UL, 0x597f299cfc657e2aUL, 0x5fcb6fab3ad6faecUL, 0x6c44198c4a475817UL,
    ];

    private readonly ulong[] _initialValue;
    private readonly ulong[] _state = new ulong[8];
    private readonly ulong[] _schedule = new ulong[80];
    private readonly byte[] _buffer = new byte[BlockSize];
    private int _buffered;
    private ulong _length;

    public Sha512Core(ulong[] initialValue)
    {
        _initialValue = initialValue;
        Reset();
    }

    public void Reset()
    {
        _initialValue.CopyTo(_state, 0);
        _buffered = 0;
        _length = 0;
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        _length += (ulong)data.Length;
        if (_buffered > 0)
        {
            var take = Math.Min(BlockSize - _buffered, data.Length);
            data[..take].CopyTo(_buffer.AsSpan(_buffered));
            _buffered += take;
            data = data[take..];
            if (_buffered < BlockSize)
            {
                return;
            }

            Compress(_buffer);
            _buffered = 0;
        }

        var whole = data.Length & ~(BlockSize - 1);
        if (whole > 0)
        {
            Compress(data[..whole]);
            data = data[whole..];
        }

        data.CopyTo(_buffer);
        _buffered = data.Length;
    }

    /// <summary>Pads, writes the first <paramref name="destination"/>.Length bytes of the state (at most 64) and resets.</summary>
    public void Finish(Span<byte> destination)
    {
        var buffer = _buffer.AsSpan();
        buffer[_buffered++] = 0x80;
        if (_buffered > BlockSize - 16)
        {
            buffer[_buffered..].Clear();
            Compress(buffer);
            _buffered = 0;
        }

        // The message length is a 128-bit count of bits.
        buffer[_buffered..(BlockSize - 16)].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(buffer[(BlockSize - 16)..], _length >> 61);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[(BlockSize - 8)..], _length << 3);
        Compress(buffer);

        Span<byte> full = stackalloc byte[64];
        for (var i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(full[(i * 8)..], _state[i]);
        }

        full[..destination.Length].CopyTo(destination);
        Reset();
    }

    private void Compress(ReadOnlySpan<byte> blocks)
    {
        ref var k = ref MemoryMarshal.GetReference(K);
        ref var w = ref MemoryMarshal.GetArrayDataReference(_schedule);
        var state = _state.AsSpan(0, 8);
        ulong h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3], h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7];

        for (var offset = 0; offset < blocks.Length; offset += BlockSize)
        {
            var block = blocks.Slice(offset, BlockSize);
            for (var t = 0; t < 16; t++)
            {
                Unsafe.Add(ref w, t) = BinaryPrimitives.ReadUInt64BigEndian(block[(t * 8)..]);
            }

            for (var t = 16; t < 80; t++)
            {
                var w15 = Unsafe.Add(ref w, t - 15);
                var w2 = Unsafe.Add(ref w, t - 2);
                var s0 = BitOperations.RotateRight(w15, 1) ^ BitOperations.RotateRight(w15, 8) ^ (w15 >> 7);
                var s1 = BitOperations.RotateRight(w2, 19) ^ BitOperations.RotateRight(w2, 61) ^ (w2 >> 6);
                Unsafe.Add(ref w, t) = Unsafe.Add(ref w, t - 16) + s0 + Unsafe.Add(ref w, t - 7) + s1;
            }

            ulong a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
            for (var t = 0; t < 80; t++)
            {
                var sum1 = BitOperations.RotateRight(e, 14) ^ BitOperations.RotateRight(e, 18) ^ BitOperations.RotateRight(e, 41);
                var choose = (e & f) ^ (~e & g);
                var temp1 = h + sum1 + choose + Unsafe.Add(ref k, t) + Unsafe.Add(ref w, t);
                var sum0 = BitOperations.RotateRight(a, 28) ^ BitOperations.RotateRight(a, 34) ^ BitOperations.RotateRight(a, 39);
                var majority = (a & b) ^ (a & c) ^ (b & c);
                var temp2 = sum0 + majority;
                h = g;
                g = f;
                f = e;
                e = d + temp1;
                d = c;
                c = b;
                b = a;
                a = temp1 + temp2;
            }

            h0 += a;
            h1 += b;
            h2 += c;
            h3 += d;
            h4 += e;
            h5 += f;
            h6 += g;
            h7 += h;
        }

        state[0] = h0;
        state[1] = h1;
        state[2] = h2;
        state[3] = h3;
        state[4] = h4;
        state[5] = h5;
        state[6] = h6;
        state[7] = h7;
    }
}
