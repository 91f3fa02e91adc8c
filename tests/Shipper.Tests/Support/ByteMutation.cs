using CsCheck;

namespace Shipper.Tests.Support;

/// <summary>
/// One edit of a valid input, as a structure-blind fuzzer makes them: flip, insert, delete, duplicate, cut off,
/// or splice in a token the format cares about. The edits are generated values, so CsCheck shrinks a failing
/// input by dropping edits and making them smaller, and the shrunk input is a valid one plus a few edits.
/// </summary>
public readonly record struct ByteMutation(int Kind, int Position, int Length, byte Value, int Token)
{
    private const int Kinds = 7;

    /// <summary>Up to <paramref name="max"/> edits.</summary>
    public static Gen<ByteMutation[]> Edits(int max) =>
        CsCheck.Gen.Select(CsCheck.Gen.Int[0, Kinds - 1], CsCheck.Gen.Int[0, int.MaxValue], CsCheck.Gen.Int[1, 64], CsCheck.Gen.Byte, CsCheck.Gen.Int[0, int.MaxValue],
            (kind, position, length, value, token) => new ByteMutation(kind, position, length, value, token)).Array[0, max];

    /// <summary>Applies the edits in order; <paramref name="tokens"/> are the format's delimiters and awkward values.</summary>
    public static byte[] Apply(byte[] input, ByteMutation[] edits, byte[][] tokens)
    {
        var bytes = new List<byte>(input);
        foreach (var edit in edits)
        {
            var at = bytes.Count == 0 ? 0 : edit.Position % (bytes.Count + 1);
            var length = Math.Min(edit.Length, bytes.Count - at);
            switch (edit.Kind)
            {
                case 0 when at < bytes.Count:
                    bytes[at] ^= (byte)(1 << (edit.Value & 7));
                    break;
                case 1 when at < bytes.Count:
                    bytes[at] = edit.Value;
                    break;
                case 2:
                    bytes.Insert(at, edit.Value);
                    break;
                case 3 when length > 0:
                    bytes.RemoveRange(at, length);
                    break;
                case 4 when length > 0:
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                case 5:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 6 when tokens.Length > 0:
                    bytes.InsertRange(at, tokens[edit.Token % tokens.Length]);
                    break;
            }
        }

        return bytes.ToArray();
    }

    public override string ToString() => $"{Kind}@{Position}x{Length}:{Value}/{Token}";
}
