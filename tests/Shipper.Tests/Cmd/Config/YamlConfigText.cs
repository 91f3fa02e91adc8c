using global::System.Text;
using CsCheck;

namespace Shipper.Tests.Cmd.Config;

/// <summary>
/// Config files for the fuzzer, grown from the ones we ship: some of the reference file's commented settings
/// switched on, some values swapped for odd scalars (YAML 1.1 booleans, hex and octal, infinities, tags, anchors,
/// block scalars, unicode, variable references), then a few byte edits (tabs, indentation, document markers,
/// CRLF, a BOM). Nesting stays shallow and aliases few: the alias bomb and deep nesting are known and bounded
/// elsewhere.
/// </summary>
public sealed record YamlConfigText(int Seed, int[] Uncommented, (int Line, int Value)[] Swaps, Support.ByteMutation[] Edits)
{
    public static readonly string[] OddScalars =
    [
        "~", "null", "", "yes", "on", "No", "0x1F", "0o17", "017", "1e400", ".inf", "-.inf", ".nan", "\"quoted\"", "'single'",
        "|\n  literal\n", ">\n  folded\n", "é", "\u202e", "😀", "${SHIPPER_FUZZ_SET}", "${SHIPPER_FUZZ_UNSET}", "${SHIPPER_FUZZ_UNSET:d}",
        "$${x}", "${", "${:x}", "&a 5", "*a", "!!str 5", "!!binary aGk=", "!custom x", "-1", "99999999999999999999",
        "1_000", "10s", "-5ms", "1d", "1.5s", "[1, 2]", "{a: 1}", "[", "{", "\"\\ud800\"", "0", "2147483648", "100 MiB",
        "-1 MiB", "1e3", "? x", "- a", "\"\\0\"", "'it''s'", "x: y", "#", "@", "`", "%", "!!int x", "!!map {}", "[[[[1]]]]",
    ];

    public static readonly byte[][] Tokens =
    [
        "\t"u8.ToArray(), "\n"u8.ToArray(), ": "u8.ToArray(), "- "u8.ToArray(), "  "u8.ToArray(), "&a "u8.ToArray(),
        "*a"u8.ToArray(), "<<: "u8.ToArray(), "#"u8.ToArray(), "'"u8.ToArray(), "\""u8.ToArray(), "{"u8.ToArray(),
        "["u8.ToArray(), ","u8.ToArray(), "---\n"u8.ToArray(), "...\n"u8.ToArray(), "%YAML 1.1\n"u8.ToArray(),
        "\r\n"u8.ToArray(), [0xEF, 0xBB, 0xBF], [0xC2, 0x85], "!!"u8.ToArray(), "? "u8.ToArray(), "|"u8.ToArray(),
        ">"u8.ToArray(), "."u8.ToArray(), "${"u8.ToArray(), [0xff], "\0"u8.ToArray(),
    ];

    private static readonly Lazy<string[][]> Seeds = new(() =>
    [
        File.ReadAllLines(RepoFile("config/shipper.reference.yml")),
        File.ReadAllLines(RepoFile("config/shipper.yml")),
    ]);

    public static readonly Gen<YamlConfigText> Any = Gen.Select(
        Gen.Int[0, 1], Gen.Int[0, int.MaxValue].Array[0, 12],
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[0, OddScalars.Length - 1]).Array[0, 4], Support.ByteMutation.Edits(4),
        (seed, uncommented, swaps, edits) => new YamlConfigText(seed, uncommented, swaps, edits));

    public string Render()
    {
        var lines = (string[])Seeds.Value[Seed].Clone();

        // "#key: value" and "  #key: value" are settings; "# prose" is not.
        var commented = Enumerable.Range(0, lines.Length).Where(i => IsCommentedSetting(lines[i])).ToArray();
        foreach (var pick in Uncommented)
        {
            if (commented.Length > 0)
            {
                var i = commented[pick % commented.Length];
                var hash = lines[i].IndexOf('#');
                if (hash >= 0) // picked twice
                {
                    lines[i] = lines[i].Remove(hash, 1);
                }
            }
        }

        var settings = Enumerable.Range(0, lines.Length).Where(i => !lines[i].TrimStart().StartsWith('#') && lines[i].Contains(':')).ToArray();
        foreach (var (line, value) in Swaps)
        {
            if (settings.Length > 0)
            {
                var i = settings[line % settings.Length];
                var colon = lines[i].IndexOf(':');
                lines[i] = lines[i][..(colon + 1)] + " " + OddScalars[value];
            }
        }

        var text = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
        return Encoding.UTF8.GetString(Support.ByteMutation.Apply(text, Edits, Tokens));
    }

    private static bool IsCommentedSetting(string line)
    {
        var trimmed = line.TrimStart();
        return trimmed.Length > 1 && trimmed[0] == '#' && (char.IsAsciiLetter(trimmed[1]) || trimmed[1] == '-') && trimmed.Contains(':');
    }

    public static string RepoFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Shipper.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir!.FullName, relative);
    }

    public override string ToString() => Render();
}
