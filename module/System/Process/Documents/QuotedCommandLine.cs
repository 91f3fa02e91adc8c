using System.Buffers;
using System.Text.Json;

namespace Shipper.Module.System.Process.Documents;

/// <summary>
/// <c>process.command_line</c> from <c>process.args</c> (the kernel keeps only the argument vector; ECS and
/// Auditbeat define no rule): the arguments joined by one space, each one that is empty or holds anything
/// but letters, digits, non-ASCII letters and <c>- _ . / : = @ % + ,</c> put in single quotes as a POSIX shell
/// reads them (<c>'</c> becomes <c>'\''</c>), so <c>sh</c> splits the line back into the same arguments.
/// Newlines and other control characters stay as they are, inside the quotes. Written straight into the
/// JSON writer from the arguments: no string is built.
/// </summary>
public static class QuotedCommandLine
{
    /// <summary>Up to this many characters are assembled on the stack; longer lines in a pooled array.</summary>
    private const int StackLimit = 512;

    /// <summary>The characters a word can have unquoted, ASCII part (beyond ASCII, see <see cref="IsPlain(string)"/>).</summary>
    private static readonly SearchValues<char> PlainAscii =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,");

    /// <summary>The command line as a string (for tests and for reading; documents use <see cref="Write"/>).</summary>
    public static string Join(string[] args)
    {
        var text = new char[Length(args)];
        Format(args, text);
        return new string(text);
    }

    /// <summary>Writes <paramref name="key"/>: the command line, unless there are no arguments.</summary>
    public static void Write(Utf8JsonWriter writer, JsonEncodedText key, string[] args)
    {
        if (args.Length == 0)
        {
            return;
        }

        var length = Length(args);
        char[]? rented = null;
        Span<char> text = length <= StackLimit ? stackalloc char[length] : (rented = ArrayPool<char>.Shared.Rent(length));
        Format(args, text);
        writer.WriteString(key, text[..length]);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>How many characters the command line has.</summary>
    public static int Length(string[] args)
    {
        var length = Math.Max(0, args.Length - 1);
        foreach (var arg in args)
        {
            length += IsPlain(arg) ? arg.Length : arg.Length + 2 + (3 * arg.AsSpan().Count('\''));
        }

        return length;
    }

    private static void Format(string[] args, Span<char> destination)
    {
        var at = 0;
        for (var i = 0; i < args.Length; i++)
        {
            if (i > 0)
            {
                destination[at++] = ' ';
            }

            var arg = args[i].AsSpan();
            if (IsPlain(args[i]))
            {
                arg.CopyTo(destination[at..]);
                at += arg.Length;
                continue;
            }

            destination[at++] = '\'';
            while (true)
            {
                var quote = arg.IndexOf('\'');
                var run = quote < 0 ? arg : arg[..quote];
                run.CopyTo(destination[at..]);
                at += run.Length;
                if (quote < 0)
                {
                    break;
                }

                // Close the quotes, an escaped quote, open them again.
                "'\\''".CopyTo(destination[at..]);
                at += 4;
                arg = arg[(quote + 1)..];
            }

            destination[at++] = '\'';
        }
    }

    /// <summary>
    /// An argument the shell reads as one word, as it is. Beyond ASCII a shell treats every character as part
    /// of a word; only what a reader would not see (control characters, spaces such as U+00A0) is quoted.
    /// </summary>
    private static bool IsPlain(string arg)
    {
        if (arg.Length == 0)
        {
            return false;
        }

        var rest = arg.AsSpan();
        while (true)
        {
            var other = rest.IndexOfAnyExcept(PlainAscii);
            if (other < 0)
            {
                return true;
            }

            var c = rest[other];
            if (c < (char)0x80 || char.IsControl(c) || char.IsWhiteSpace(c))
            {
                return false;
            }

            rest = rest[(other + 1)..];
        }
    }
}
