using global::System.Text;
using CsCheck;
using Shipper.IndexManagement;
using Shipper.Tests.Cmd.Config;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.IndexManagement;

/// <summary>
/// Fuzzes the second YAML reader, the one fields.yml goes through: edits of the fields.yml we ship, with odd
/// scalars swapped in, must give fields or a <see cref="FormatException"/> naming file, line and column.
/// </summary>
public class FieldsYmlFuzzTests(ITestOutputHelper output)
{
    private const string Source = "fields.yml";

    [Fact]
    public void ADocumentEndMarkerFirstIsAFormatErrorWithItsPlace()
    {
        var e = Assert.Throws<FormatException>(() => FieldsYml.Parse("...\n- key: base\n", Source));
        Assert.StartsWith(Source + ":", e.Message);
    }

    [Fact]
    public void ATagThatIsNotAUriIsAFormatErrorWithItsPlace()
    {
        var e = Assert.Throws<FormatException>(() => FieldsYml.Parse("- key: !!ke]y base\n", Source));
        Assert.StartsWith(Source + ":1:", e.Message);
    }

    [Fact]
    public void AFlowSequenceLeftOpenIsAFormatErrorWithItsPlace()
    {
        var e = Assert.Throws<FormatException>(() => FieldsYml.Parse("- key: base\n  fields:\n    - name: [\n      type: keyword\n", Source));
        Assert.StartsWith(Source + ":", e.Message);
    }

    [Fact]
    public void AnyFieldsFileGivesFieldsOrAnErrorWithItsPlace()
    {
        var lines = File.ReadAllLines(YamlConfigText.RepoFile("fields.yml"));
        var settings = Enumerable.Range(0, lines.Length).Where(i => !lines[i].TrimStart().StartsWith('#') && lines[i].Contains(':')).ToArray();
        var gen = Gen.Select(Gen.Select(Gen.Int[0, settings.Length - 1], Gen.Int[0, YamlConfigText.OddScalars.Length - 1]).Array[0, 4], ByteMutation.Edits(4),
            (swaps, edits) =>
            {
                var copy = (string[])lines.Clone();
                foreach (var (line, value) in swaps)
                {
                    var i = settings[line];
                    copy[i] = copy[i][..(copy[i].IndexOf(':') + 1)] + " " + YamlConfigText.OddScalars[value];
                }

                return Encoding.UTF8.GetString(ByteMutation.Apply(Encoding.UTF8.GetBytes(string.Join('\n', copy)), edits, YamlConfigText.Tokens));
            });
        FuzzBudget.Run(output, "fields.yml", gen, text =>
        {
            try
            {
                FieldsYml.Parse(text, Source);
            }
            catch (FormatException e)
            {
                Assert.StartsWith(Source + ":", e.Message);
            }
        }, text => text);
    }
}
