using global::System.Buffers.Binary;
using global::System.Numerics;
using global::System.Runtime.CompilerServices;
using global::System.Runtime.InteropServices;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// The SHA-256 compression function and padding (FIPS 180-4 §6.2) with a caller-chosen initial value, so that
/// SHA-224 (§5.3.2: other IV, output truncated to 28 bytes) can be built on it: .NET has no SHA-224.
/// </summary>
internal sealed class Sha256Core
{
    public const int BlockSize = 64;

    public static readonly uint[] Sha256InitialValue =
    [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];

    public static readonly uint[] Sha224InitialValue =
    [
        0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939, 0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4,
    ];

    // First 32 bits of the fractional parts of the cube roots of the first 64 primes (§4.2.2).
    private static ReadOnlySpan<uint> K =>
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    private readonly uint[] _initialValue;
    private readonly uint[] _state = new uint[8];
    private readonly uint[] _schedule = new uint[64];
    private readonly byte[] _buffer = new byte[BlockSize];
    private int _buffered;
    private ulong _length;

    public Sha256Core(uint[] initialValue)
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

    /// <summary>Pads, writes the first <paramref name="destination"/>.Length bytes of the state (at most 32) and resets.</summary>
    public void Finish(Span<byte> destination)
    {
        var bitLength = _length * 8;
        var buffer = _buffer.AsSpan();
        buffer[_buffered++] = 0x80;
        if (_buffered > BlockSize - 8)
        {
            buffer[_buffered..].Clear();
            Compress(buffer);
            _buffered = 0;
        }

        buffer[_buffered..(BlockSize - 8)].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(buffer[(BlockSize - 8)..], bitLength);
        Compress(buffer);

        Span<byte> full = stackalloc byte[32];
        for (var i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(full[(i * 4)..], _state[i]);
        }

        full[..destination.Length].CopyTo(destination);
        Reset();
    }

    private void Compress(ReadOnlySpan<byte> blocks)
    {
        ref var k = ref MemoryMarshal.GetReference(K);
        ref var w = ref MemoryMarshal.GetArrayDataReference(_schedule);
        var state = _state.AsSpan(0, 8);
        uint h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3], h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7];

        for (var offset = 0; offset < blocks.Length; offset += BlockSize)
        {
            var block = blocks.Slice(offset, BlockSize);
            for (var t = 0; t < 16; t++)
            {
                Unsafe.Add(ref w, t) = BinaryPrimitives.ReadUInt32BigEndian(block[(t * 4)..]);
            }

            for (var t = 16; t < 64; t++)
            {
                var w15 = Unsafe.Add(ref w, t - 15);
                var w2 = Unsafe.Add(ref w, t - 2);
                var s0 = BitOperations.RotateRight(w15, 7) ^ BitOperations.RotateRight(w15, 18) ^ (w15 >> 3);
                var s1 = BitOperations.RotateRight(w2, 17) ^ BitOperations.RotateRight(w2, 19) ^ (w2 >> 10);
                Unsafe.Add(ref w, t) = Unsafe.Add(ref w, t - 16) + s0 + Unsafe.Add(ref w, t - 7) + s1;
            }

            uint a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
            for (var t = 0; t < 64; t++)
            {
                var sum1 = BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25);
                var choose = (e & f) ^ (~e & g);
                var temp1 = h + sum1 + choose + Unsafe.Add(ref k, t) + Unsafe.Add(ref w, t);
                var sum0 = BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22);
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
