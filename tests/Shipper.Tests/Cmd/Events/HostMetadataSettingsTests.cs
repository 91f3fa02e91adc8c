using Shipper.Config;
using Shipper.Events;
using Shipper.Module.Config;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Events;

/// <summary>add_host_metadata's options as a config file states them: defaults, values, and errors with key and position.</summary>
public class HostMetadataSettingsTests
{
    internal static ShipperSettings Load(string extra)
    {
        using var config = new TempConfig(TempConfig.ProcessesToConsole + "\n" + extra);
        return ConfigLoader.Load(config.Path, true, Array.Empty<string>(), new PathSettings("", "", "", ""), strictPerms: true);
    }

    private static ConfigException Error(string extra) => Assert.Throws<ConfigException>(() => Load(extra));

    [Fact]
    public void WithoutTheProcessorThereAreNoHostMetadataSettings()
    {
        Assert.Null(Load("").HostMetadata);
        Assert.Null(Load("processors: []").HostMetadata);
    }

    [Fact]
    public void ATildeMeansEveryDefault()
    {
        var settings = Load("processors:\n  - add_host_metadata: ~\n").HostMetadata!;
        Assert.True(settings.NetInfo);
        Assert.Equal(TimeSpan.FromMinutes(5), settings.CacheTtl);
        Assert.True(settings.ReplaceFields);
        Assert.Null(settings.Name);
        Assert.Empty(settings.Geo);
    }

    [Fact]
    public void EveryOptionIsRead()
    {
        var settings = Load("""
            processors:
              - add_host_metadata:
                  netinfo.enabled: false
                  cache:
                    ttl: 90s
                  replace_fields: false
                  name: web-01.example.com
                  geo:
                    name: nyc-dc1
                    location: "40.7128, -74.0060"
                    continent_name: North America
                    country_name: United States
                    country_iso_code: US
                    region_name: New York
                    region_iso_code: NY
                    city_name: "  "
            """).HostMetadata!;
        Assert.False(settings.NetInfo);
        Assert.Equal(TimeSpan.FromSeconds(90), settings.CacheTtl);
        Assert.Equal(TimeSpan.FromSeconds(90), settings.RefreshInterval);
        Assert.False(settings.ReplaceFields);
        Assert.Equal("web-01.example.com", settings.Name);
        Assert.Equal(
            new[] { "name=nyc-dc1", "location=40.7128, -74.0060", "continent_name=North America", "country_name=United States", "country_iso_code=US", "region_name=New York", "region_iso_code=NY" },
            settings.Geo.Select(p => $"{p.Key}={p.Value}"));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0s")]
    [InlineData("-1s")]
    public void ATtlOfZeroOrLessReReadsEverySecond(string ttl)
    {
        var settings = Load($"processors:\n  - add_host_metadata:\n      cache.ttl: {ttl}\n").HostMetadata!;
        Assert.Equal(TimeSpan.Zero, settings.CacheTtl);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.RefreshInterval);
    }

    [Fact]
    public void AnUnknownOptionIsAnErrorWithItsKeyAndPosition()
    {
        var error = Error("processors:\n  - add_host_metadata:\n      netinfo.enabled: true\n      cache.tll: 1m\n");
        Assert.Contains("unknown setting", error.Message);
        Assert.Contains("cache.tll", error.Message);
        Assert.Equal(10, error.Location.Line); // the line of cache.tll: the six of ProcessesToConsole, then processors, the list item, netinfo.enabled
    }

    [Theory]
    [InlineData("netinfo.enabled: maybe", "netinfo.enabled", "expected true or false")]
    [InlineData("replace_fields: 2", "replace_fields", "expected true or false")]
    [InlineData("cache.ttl: soon", "cache.ttl", "expected a duration")]
    [InlineData("name: '  '", "name", "cannot be blank")]
    [InlineData("geo.location: 'somewhere'", "geo.location", "is not a \"lat, lon\" pair")]
    [InlineData("geo.location: '40.7;-74.0'", "geo.location", "is not a \"lat, lon\" pair")]
    [InlineData("geo.location: '91, 10'", "geo.location", "out of range")]
    [InlineData("geo.location: '10, -180.5'", "geo.location", "out of range")]
    [InlineData("geo: {planet: earth}", "geo.planet", "unknown setting")]
    public void ABadValueIsAnErrorNamingTheKey(string option, string key, string problem)
    {
        var error = Error($"processors:\n  - add_host_metadata:\n      {option}\n");
        Assert.Contains(key, error.Message);
        Assert.Contains(problem, error.Message);
        Assert.True(error.Location.IsKnown, error.Message);
    }

    [Fact]
    public void AnEmptyNameIsUnsetAsInLibbeat()
    {
        Assert.Null(Load("processors:\n  - add_host_metadata:\n      name: \"\"\n").HostMetadata!.Name);
    }

    [Fact]
    public void ALocationInRangeWithSpacesIsAccepted()
    {
        var settings = Load("processors:\n  - add_host_metadata:\n      geo.location: ' -33.8688 ,151.2093 '\n").HostMetadata!;
        Assert.Equal(" -33.8688 ,151.2093 ", settings.Geo.Single(p => p.Key == "location").Value);
    }

    [Fact]
    public void OptionsThatAreNotAMapAreAnError()
    {
        var error = Error("processors:\n  - add_host_metadata: [netinfo]\n");
        Assert.Contains("add_host_metadata takes a map of options", error.Message);
    }

    [Fact]
    public void TheProcessorListedTwiceIsAnError()
    {
        var error = Error("processors:\n  - add_host_metadata: ~\n  - add_host_metadata:\n      name: x\n");
        Assert.Contains("listed twice", error.Message);
    }

    [Fact]
    public void CustomHostFieldsUnderRootAreAllowed()
    {
        var settings = Load("fields_under_root: true\nfields:\n  host:\n    rack: r1\n");
        Assert.NotNull(settings.Fields!.Get("host"));
    }
}
