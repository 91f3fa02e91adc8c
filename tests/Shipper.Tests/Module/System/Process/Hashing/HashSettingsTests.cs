using Shipper.Module.Config;
using Shipper.Module.System.Process.Hashing;

namespace Shipper.Tests.Module.System.Process.Hashing;

public class HashSettingsTests
{
    [Fact]
    public void DefaultsMatchAuditbeat()
    {
        var settings = HashSettings.Parse(ConfigTree.Section());
        Assert.Equal([HashType.Sha1], settings.HashTypes);
        Assert.Equal(100L * 1024 * 1024, settings.MaxFileSize);
        Assert.Equal(50L * 1024 * 1024, settings.ScanRatePerSec);
        Assert.Equal(4096, settings.CacheSize);
        Assert.False(settings.OtherNamespaces);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.MaxWait);
    }

    [Fact]
    public void ReadsEverySettingAndMarksItKnown()
    {
        var section = ConfigTree.Section(
            ("process.hash.hash_types", new[] { "SHA256", "blake2b_256", "xxh64", "sha3_224" }),
            ("process.hash.max_file_size", "20 MiB"),
            ("process.hash.scan_rate_per_sec", "0"),
            ("process.hash.cache_size", "128"),
            ("process.hash.other_namespaces", "true"),
            ("process.hash.max_wait", "250ms"));

        var settings = HashSettings.Parse(section);

        Assert.Equal([HashType.Sha256, HashType.Blake2b_256, HashType.Xxh64, HashType.Sha3_224], settings.HashTypes);
        Assert.Equal(20L << 20, settings.MaxFileSize);
        Assert.Equal(0, settings.ScanRatePerSec);
        Assert.Equal(128, settings.CacheSize);
        Assert.True(settings.OtherNamespaces);
        Assert.Equal(TimeSpan.FromMilliseconds(250), settings.MaxWait);
        section.Tracker.EnsureAllConsumed(section.Map);
    }

    [Fact]
    public void ATypoUnderProcessHashIsAnUnknownSetting()
    {
        var section = ConfigTree.Section(("process.hash.max_filesize", "10 MiB"));
        HashSettings.Parse(section);
        var error = Assert.Throws<ConfigException>(() => section.Tracker.EnsureAllConsumed(section.Map));
        Assert.Contains("unknown setting 'process.hash.max_filesize'", error.Message);
    }

    [Fact]
    public void AnUnknownHashTypeNamesTheValidOnesAndWhereItWasWritten()
    {
        var section = ConfigTree.Section(("process.hash.hash_types", new[] { "sha1", "sha999" }));
        var error = Assert.Throws<ConfigException>(() => HashSettings.Parse(section));
        Assert.Contains("unknown hash type 'sha999'", error.Message);
        Assert.Contains("md5, sha1, sha224, sha256, sha384, sha512, sha512_224, sha512_256, sha3_224, sha3_256, sha3_384, sha3_512, blake2b_256, blake2b_384, blake2b_512, xxh64", error.Message);
        Assert.Contains("shipper.yml:4:5", error.Message);
    }

    [Fact]
    public void ASingleNameCountsAsAListOfOne()
    {
        var settings = HashSettings.Parse(ConfigTree.Section(("process.hash.hash_types", "md5")));
        Assert.Equal([HashType.Md5], settings.HashTypes);
    }

    [Fact]
    public void AnEmptyListTurnsHashingOff()
    {
        var settings = HashSettings.Parse(ConfigTree.Section(("process.hash.hash_types", Array.Empty<string>())));
        Assert.Empty(settings.HashTypes);
    }

    [Fact]
    public void ATypeListedTwiceIsAnError()
    {
        var error = Assert.Throws<ConfigException>(() => HashSettings.Parse(ConfigTree.Section(("process.hash.hash_types", new[] { "sha1", "SHA1" }))));
        Assert.Contains("'sha1' is listed twice", error.Message);
    }

    [Theory]
    [InlineData("process.hash.max_file_size", "0", "out of range")]
    [InlineData("process.hash.max_file_size", "lots", "expected a size")]
    [InlineData("process.hash.scan_rate_per_sec", "fast", "expected a size")]
    [InlineData("process.hash.cache_size", "0", "out of range")]
    [InlineData("process.hash.other_namespaces", "maybe", "expected true or false")]
    [InlineData("process.hash.max_wait", "soon", "expected a duration")]
    public void BadValuesNameTheSetting(string key, string value, string problem)
    {
        var error = Assert.Throws<ConfigException>(() => HashSettings.Parse(ConfigTree.Section((key, value))));
        Assert.Contains($"'{key}'", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void EveryAlgorithmIsAvailableOnThisMachine()
    {
        var settings = new HashSettings(HashTypeNames.All);
        Assert.Empty(settings.UnsupportedTypes());
        Assert.Equal(HashTypeNames.All, settings.SupportedTypes());
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1024, "1 KiB")]
    [InlineData(100L << 20, "100 MiB")]
    [InlineData(120L << 20, "120 MiB")]
    [InlineData(3L << 29, "1.5 GiB")]
    public void SizesAreShownAsConfigured(long bytes, string expected) => Assert.Equal(expected, HashSettings.FormatSize(bytes));
}
