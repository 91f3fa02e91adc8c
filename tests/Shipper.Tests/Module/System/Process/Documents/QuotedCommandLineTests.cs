using System.Diagnostics;
using System.Text;
using Shipper.Module.System.Process.Documents;

namespace Shipper.Tests.Module.System.Process.Documents;

/// <summary><c>process.command_line</c>'s quoting, checked by the thing it promises: a real POSIX shell splits it back.</summary>
public sealed class QuotedCommandLineTests
{
    public static TheoryData<string[], string> Examples => new()
    {
        { new[] { "/usr/bin/ls", "-la", "/var/log" }, "/usr/bin/ls -la /var/log" },
        { new[] { "/bin/echo", "a b", "it's", "" }, "/bin/echo 'a b' 'it'\\''s' ''" },
        { new[] { "sh", "-c", "cat <<EOF\nx\nEOF" }, "sh -c 'cat <<EOF\nx\nEOF'" },
        { new[] { "grep", "-E", "a|b$", "*.log", "~/x", "#c" }, "grep -E 'a|b$' '*.log' '~/x' '#c'" },
        { new[] { "/home/josé/日本/run", "--name=André", "a\u00a0b" }, "/home/josé/日本/run --name=André 'a\u00a0b'" },
        { new[] { "back\\slash", "\"dq\"", "tab\there" }, "'back\\slash' '\"dq\"' 'tab\there'" },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void ArgsNeedingNoQuotesStayAsTheyAreAndTheRestAreSingleQuoted(string[] args, string expected)
    {
        Assert.Equal(expected, QuotedCommandLine.Join(args));
        Assert.Equal(expected.Length, QuotedCommandLine.Length(args));
    }

    [Fact]
    public void AShellSplitsEveryCommandLineBackIntoItsArgs()
    {
        // Odd arguments from a seeded generator, plus the hand-picked ones; one shell prints them all back.
        var random = new Random(15);
        const string Alphabet = "ab Z09-_./:=@%+, \t\n\r'\"\\$`*?[]{}()<>|&;!#~^\u0001\u007f\u00e9\u00a0\u0085\u65e5\u2028";
        var samples = Examples.Select(row => (string[])row[0]).ToList();
        for (var i = 0; i < 400; i++)
        {
            var args = new string[1 + random.Next(6)];
            for (var a = 0; a < args.Length; a++)
            {
                var chars = new char[random.Next(12)];
                for (var c = 0; c < chars.Length; c++)
                {
                    chars[c] = Alphabet[random.Next(Alphabet.Length)];
                }

                args[a] = random.Next(20) == 0 ? "\U0001F600" + new string(chars) : new string(chars);
            }

            samples.Add(args);
        }

        // Each sample: printf prints every word it gets, NUL-terminated, then a record separator (0x1E).
        var script = new StringBuilder();
        foreach (var args in samples)
        {
            script.Append("printf '%s\\0' ").Append(QuotedCommandLine.Join(args)).Append("; printf '\\036'\n");
        }

        var back = RunShell(script.ToString()).Split('\u001e');
        Assert.Equal(samples.Count + 1, back.Length);
        for (var i = 0; i < samples.Count; i++)
        {
            Assert.Equal(samples[i], back[i].Split('\0')[..^1]);
        }
    }

    private static string RunShell(string script)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardInputEncoding = new UTF8Encoding(false),
            UseShellExecute = false,
        };
        start.Environment["LC_ALL"] = "C.UTF-8";
        using var shell = global::System.Diagnostics.Process.Start(start)!;
        var output = shell.StandardOutput.ReadToEndAsync();
        shell.StandardInput.Write(script);
        shell.StandardInput.Close();
        Assert.True(shell.WaitForExit(30_000));
        Assert.Equal(0, shell.ExitCode);
        return output.Result;
    }
}
