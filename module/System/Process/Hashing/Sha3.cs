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

    // ρ rotation amounts and π lane order, walked along the π permutation starting at lane 1.
    private static ReadOnlySpan<byte> Rotations => [1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44];

    private static ReadOnlySpan<byte> PiLanes => [10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1];

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

    private static void Permute(Span<ulong> a)
    {
        Span<ulong> c = stackalloc ulong[5];
        var rotations = Rotations;
        var piLanes = PiLanes;
        var roundConstants = RoundConstants;
        for (var round = 0; round < 24; round++)
        {
            // θ
            for (var x = 0; x < 5; x++)
            {
                c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
            }

            for (var x = 0; x < 5; x++)
            {
                var d = c[(x + 4) % 5] ^ BitOperations.RotateLeft(c[(x + 1) % 5], 1);
                for (var y = 0; y < 25; y += 5)
                {
                    a[y + x] ^= d;
                }
            }

            // ρ and π
            var carried = a[1];
            for (var i = 0; i < 24; i++)
            {
                var lane = piLanes[i];
                var next = a[lane];
                a[lane] = BitOperations.RotateLeft(carried, rotations[i]);
                carried = next;
            }

            // χ
            for (var y = 0; y < 25; y += 5)
            {
                ulong a0 = a[y], a1 = a[y + 1], a2 = a[y + 2], a3 = a[y + 3], a4 = a[y + 4];
                a[y] = a0 ^ (~a1 & a2);
                a[y + 1] = a1 ^ (~a2 & a3);
                a[y + 2] = a2 ^ (~a3 & a4);
                a[y + 3] = a3 ^ (~a4 & a0);
                a[y + 4] = a4 ^ (~a0 & a1);
            }

            // ι
            a[0] ^= roundConstants[round];
        }
    }
}
