using global::System.Buffers.Binary;
using global::System.Numerics;

namespace Shipper.Module.System.Process.Hashing;

/// <summary>
/// SHA-3 (FIPS 202): Keccak-f[1600] sponge with the SHA-3 domain padding. .NET exposes SHA3-256/384/512 only
/// when the platform's crypto library has them and never SHA3-224, so sha3_224 always comes from here and the
/// other three do when the platform lacks SHA-3.
/// </summary>
public sealed class Sha3 : IIncrementalDigest
{
    private static ReadOnlySpan<ulong> RoundConstants =>
    [
        0x0000000000000001UL, 0x0000000000008082UL, 0x800000000000808aUL, 0x8000000080008000UL,
        0x000000000000808bUL, 0x0000000080000001UL, 0x8000000080008081UL, 0x8000000000008009UL,
        0x000000000000008aUL, 0x0000000000000088UL, 0x0000000080008009UL, 0x000000008000000aUL,
        0x000000008000808bUL, 0x800000000000008bUL, 0x8000000000008089UL, 0x8000000000008003UL,
        0x8000000000008002UL, 0x8000000000000080UL, 0x000000000000800aUL, 0x800000008000000aUL,
        0x8000000080008081UL, 0x8000000000008080UL, 0x0000000080000001UL, 0x8000000080008008UL,
    ];

    private readonly ulong[] _state = new ulong[25];
    private readonly byte[] _buffer;
    private readonly int _rate;
    private int _buffered;

    private Sha3(int length)
    {
        Length = length;
        _rate = 200 - (2 * length);
        _buffer = new byte[_rate];
    }

    public int Length { get; }

    public static Sha3 Create224() => new(28);

    public static Sha3 Create256() => new(32);

    public static Sha3 Create384() => new(48);

    public static Sha3 Create512() => new(64);

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_buffered > 0)
        {
            var take = Math.Min(_rate - _buffered, data.Length);
            data[..take].CopyTo(_buffer.AsSpan(_buffered));
            _buffered += take;
            data = data[take..];
            if (_buffered < _rate)
            {
                return;
            }

            Absorb(_buffer);
            _buffered = 0;
        }

        while (data.Length >= _rate)
        {
            Absorb(data[.._rate]);
            data = data[_rate..];
        }

        data.CopyTo(_buffer);
        _buffered = data.Length;
    }

    public void Finish(Span<byte> destination)
    {
        var block = _buffer.AsSpan();
        block[_buffered..].Clear();
        block[_buffered] ^= 0x06;
        block[_rate - 1] ^= 0x80;
        Absorb(block);

        // Every SHA-3 output is shorter than the rate: one squeeze.
        Span<byte> lanes = stackalloc byte[200];
        for (var i = 0; i < 25; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(lanes[(i * 8)..], _state[i]);
        }

        lanes[..Length].CopyTo(destination);
        Array.Clear(_state);
        _buffered = 0;
    }

    private void Absorb(ReadOnlySpan<byte> block)
    {
        var state = _state.AsSpan();
        for (var i = 0; i < _rate / 8; i++)
        {
            state[i] ^= BinaryPrimitives.ReadUInt64LittleEndian(block[(i * 8)..]);
        }

        Permute(state);
    }

    // One Keccak-f[1600] permutation with the 25 lanes in locals, each round written out: several times
    // faster than indexing the state array.
    private static void Permute(Span<ulong> a)
    {
        var a0 = a[0];
        var a1 = a[1];
        var a2 = a[2];
        var a3 = a[3];
        var a4 = a[4];
        var a5 = a[5];
        var a6 = a[6];
        var a7 = a[7];
        var a8 = a[8];
        var a9 = a[9];
        var a10 = a[10];
        var a11 = a[11];
        var a12 = a[12];
        var a13 = a[13];
        var a14 = a[14];
        var a15 = a[15];
        var a16 = a[16];
        var a17 = a[17];
        var a18 = a[18];
        var a19 = a[19];
        var a20 = a[20];
        var a21 = a[21];
        var a22 = a[22];
        var a23 = a[23];
        var a24 = a[24];
        var roundConstants = RoundConstants;
        for (var round = 0; round < 24; round++)
        {
            // θ
            var c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
            var c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
            var c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
            var c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
            var c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
            var d0 = c4 ^ BitOperations.RotateLeft(c1, 1);
            var d1 = c0 ^ BitOperations.RotateLeft(c2, 1);
            var d2 = c1 ^ BitOperations.RotateLeft(c3, 1);
            var d3 = c2 ^ BitOperations.RotateLeft(c4, 1);
            var d4 = c3 ^ BitOperations.RotateLeft(c0, 1);

            // ρ and π: lane (x, y) moves to (y, 2x + 3y) rotated by its offset
            var b0 = a0 ^ d0;
            var b10 = BitOperations.RotateLeft(a1 ^ d1, 1);
            var b20 = BitOperations.RotateLeft(a2 ^ d2, 62);
            var b5 = BitOperations.RotateLeft(a3 ^ d3, 28);
            var b15 = BitOperations.RotateLeft(a4 ^ d4, 27);
            var b16 = BitOperations.RotateLeft(a5 ^ d0, 36);
            var b1 = BitOperations.RotateLeft(a6 ^ d1, 44);
            var b11 = BitOperations.RotateLeft(a7 ^ d2, 6);
            var b21 = BitOperations.RotateLeft(a8 ^ d3, 55);
            var b6 = BitOperations.RotateLeft(a9 ^ d4, 20);
            var b7 = BitOperations.RotateLeft(a10 ^ d0, 3);
            var b17 = BitOperations.RotateLeft(a11 ^ d1, 10);
            var b2 = BitOperations.RotateLeft(a12 ^ d2, 43);
            var b12 = BitOperations.RotateLeft(a13 ^ d3, 25);
            var b22 = BitOperations.RotateLeft(a14 ^ d4, 39);
            var b23 = BitOperations.RotateLeft(a15 ^ d0, 41);
            var b8 = BitOperations.RotateLeft(a16 ^ d1, 45);
            var b18 = BitOperations.RotateLeft(a17 ^ d2, 15);
            var b3 = BitOperations.RotateLeft(a18 ^ d3, 21);
            var b13 = BitOperations.RotateLeft(a19 ^ d4, 8);
            var b14 = BitOperations.RotateLeft(a20 ^ d0, 18);
            var b24 = BitOperations.RotateLeft(a21 ^ d1, 2);
            var b9 = BitOperations.RotateLeft(a22 ^ d2, 61);
            var b19 = BitOperations.RotateLeft(a23 ^ d3, 56);
            var b4 = BitOperations.RotateLeft(a24 ^ d4, 14);

            // χ
            a0 = b0 ^ (~b1 & b2);
            a1 = b1 ^ (~b2 & b3);
            a2 = b2 ^ (~b3 & b4);
            a3 = b3 ^ (~b4 & b0);
            a4 = b4 ^ (~b0 & b1);
            a5 = b5 ^ (~b6 & b7);
            a6 = b6 ^ (~b7 & b8);
            a7 = b7 ^ (~b8 & b9);
            a8 = b8 ^ (~b9 & b5);
            a9 = b9 ^ (~b5 & b6);
            a10 = b10 ^ (~b11 & b12);
            a11 = b11 ^ (~b12 & b13);
            a12 = b12 ^ (~b13 & b14);
            a13 = b13 ^ (~b14 & b10);
            a14 = b14 ^ (~b10 & b11);
            a15 = b15 ^ (~b16 & b17);
            a16 = b16 ^ (~b17 & b18);
            a17 = b17 ^ (~b18 & b19);
            a18 = b18 ^ (~b19 & b15);
            a19 = b19 ^ (~b15 & b16);
            a20 = b20 ^ (~b21 & b22);
            a21 = b21 ^ (~b22 & b23);
            a22 = b22 ^ (~b23 & b24);
            a23 = b23 ^ (~b24 & b20);
            a24 = b24 ^ (~b20 & b21);

            // ι
            a0 ^= roundConstants[round];
        }

        a[0] = a0;
        a[1] = a1;
        a[2] = a2;
        a[3] = a3;
        a[4] = a4;
        a[5] = a5;
        a[6] = a6;
        a[7] = a7;
        a[8] = a8;
        a[9] = a9;
        a[10] = a10;
        a[11] = a11;
        a[12] = a12;
        a[13] = a13;
        a[14] = a14;
        a[15] = a15;
        a[16] = a16;
        a[17] = a17;
        a[18] = a18;
        a[19] = a19;
        a[20] = a20;
        a[21] = a21;
        a[22] = a22;
        a[23] = a23;
        a[24] = a24;
    }
}
