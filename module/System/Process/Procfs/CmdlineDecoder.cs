using global::System.Text;

namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// Turns <c>/proc/&lt;pid&gt;/cmdline</c> (arguments, each terminated by NUL) into strings. Never throws:
/// invalid UTF-8 becomes U+FFFD. Empty content means the process has no user memory any more (a zombie, or
/// a kernel thread) and yields an empty array.
/// </summary>
public static class CmdlineDecoder
{
    /// <summary>
    /// Exactly one trailing NUL is the last argument's terminator and is dropped; further NULs are real empty
    /// arguments (<c>prog ""</c> is <c>prog\0\0</c>) and are kept. Content without a trailing NUL (a process
    /// that rewrote its argv, setproctitle-style) keeps its last piece as an argument.
    /// </summary>
    public static string[] Decode(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty)
        {
            return [];
        }

        if (content[^1] == 0)
        {
            content = content[..^1];
        }

        var count = content.Count((byte)0) + 1;
        var args = new string[count];
        for (var i = 0; i < count; i++)
        {
            var end = content.IndexOf((byte)0);
            var arg = end < 0 ? content : content[..end];
            args[i] = arg.IsEmpty ? "" : Encoding.UTF8.GetString(arg);
            content = end < 0 ? default : content[(end + 1)..];
        }

        return args;
    }

    /// <summary>
    /// A command line cut at a byte limit: the last argument is kept as far as it goes (a script passed with
    /// <c>sh -c</c> is still worth its first 128 KiB), without a UTF-8 sequence the cut split in two.
    /// </summary>
    public static string[] DecodeTruncated(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty || content[^1] == 0)
        {
            return Decode(content); // the cut fell between arguments
        }

        var lead = content.Length - 1;
        while (lead > 0 && content.Length - lead < 4 && (content[lead] & 0xC0) == 0x80)
        {
            lead--;
        }

        var needed = content[lead] >= 0xF0 ? 4 : content[lead] >= 0xE0 ? 3 : content[lead] >= 0xC0 ? 2 : 1;
        if (content.Length - lead < needed)
        {
            content = content[..lead];
        }

        // Content that now ends in a NUL ends with a complete argument; Decode would take that NUL for the
        // last one's terminator, which is right: the argument after it was cut before its first whole character.
        return Decode(content);
    }
}
