using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Module.Registry;
using Shipper.Tests.Support;
using Shipper.Worker;

namespace Shipper.Tests.Cmd.Events;

/// <summary>The host object of written documents under each add_host_metadata option, and its re-reads.</summary>
public class HostEnvelopeTests : IDisposable
{
    private static readonly AgentInfo Agent = new() { Name = "Edge-1", Version = "1.2.3", Id = "agent-id", EphemeralId = "ephemeral" };

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    internal static HostInfo Crafted(string codename = "bookworm") => new()
    {
        Name = "web-01",
        Hostname = "web-01",
        KernelHostname = "Web-01",
        Id = "4f1c2b3a5d6e7f8091a2b3c4d5e6f708",
        Architecture = "x86_64",
        OsType = "linux",
        OsFamily = "debian",
        OsName = "Debian GNU/Linux",
        OsVersion = "12 (bookworm)",
        OsPlatform = "debian",
        OsKernel = "6.1.0-18-amd64",
        OsCodename = codename,
        Containerized = false,
        Network = new NetworkAddresses(new[] { "192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1" }, new[] { "02-FC-00-00-00-01", "46-20-F4-86-3F-8B" }),
    };

    private static DocumentWriter Writer(string yaml, HostInfo? host = null)
    {
        var settings = HostMetadataSettingsTests.Load(yaml);
        return new DocumentWriter(Agent, host ?? Crafted(), settings.Tags, settings.Fields, settings.FieldsUnderRoot, settings.HostMetadata);
    }

    internal static JsonElement Document(DocumentWriter writer)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            writer.Write(json, TestEvents.Create(1));
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    internal static JsonElement HostOf(DocumentWriter writer) => Document(writer).GetProperty("host");

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    [Fact]
    public void WithoutTheProcessorDocumentsCarryOnlyHostNameTheAgentsName()
    {
        var host = HostOf(Writer(""));
        Assert.Equal("""{"name":"Edge-1"}""", host.GetRawText());
    }

    [Fact]
    public void TheProcessorAtItsDefaultsAddsEveryHostField()
    {
        var host = HostOf(Writer("processors:\n  - add_host_metadata: ~\n"));
        Assert.Equal("web-01", host.GetProperty("name").GetString());
        Assert.Equal("web-01", host.GetProperty("hostname").GetString());
        Assert.Equal("4f1c2b3a5d6e7f8091a2b3c4d5e6f708", host.GetProperty("id").GetString());
        Assert.Equal("x86_64", host.GetProperty("architecture").GetString());
        Assert.Equal("bookworm", host.GetProperty("os").GetProperty("codename").GetString());
        Assert.False(host.GetProperty("os").TryGetProperty("build", out _));
        Assert.False(host.GetProperty("containerized").GetBoolean());
        Assert.Equal(new[] { "192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1" }, Strings(host.GetProperty("ip")));
        Assert.Equal(new[] { "02-FC-00-00-00-01", "46-20-F4-86-3F-8B" }, Strings(host.GetProperty("mac")));
        Assert.False(host.TryGetProperty("geo", out _));
    }

    [Fact]
    public void NetinfoDisabledLeavesOutIpAndMac()
    {
        var host = HostOf(Writer("processors:\n  - add_host_metadata:\n      netinfo.enabled: false\n"));
        Assert.False(host.TryGetProperty("ip", out _));
        Assert.False(host.TryGetProperty("mac", out _));
        Assert.Equal("web-01", host.GetProperty("hostname").GetString());
    }

    [Fact]
    public void TheProcessorsNameIsHostNameAndTheTopLevelNameStaysAgentName()
    {
        var document = Document(Writer("name: top-name\nprocessors:\n  - add_host_metadata:\n      name: Host-Override\n"));
        Assert.Equal("Host-Override", document.GetProperty("host").GetProperty("name").GetString());
        Assert.Equal("web-01", document.GetProperty("host").GetProperty("hostname").GetString());
        Assert.Equal("Edge-1", document.GetProperty("agent").GetProperty("name").GetString()); // the writer's agent, as given
    }

    [Theory]
    [InlineData("name: top-name\n", "top-name", "top-name")]
    [InlineData("name: top-name\nprocessors:\n  - add_host_metadata: ~\n", "top-name", null)]
    [InlineData("processors:\n  - add_host_metadata: ~\n", null, null)]
    public async Task TheTopLevelNameIsAgentNameAndHostNameOnlyWithoutTheProcessor(string yaml, string? agentName, string? builtinHostName)
    {
        var settings = HostMetadataSettingsTests.Load(yaml);
        await using var worker = ShipperWorker.Build(settings, new WorkerOptions { ForRun = false }, BuiltInDatasets.Create());
        var kernelName = File.ReadAllText("/proc/sys/kernel/hostname").Trim();
        Assert.Equal(agentName ?? kernelName, worker.Agent.Name);
        var documents = new DocumentWriter(worker.Agent, worker.Host, settings.Tags, settings.Fields, settings.FieldsUnderRoot, settings.HostMetadata);
        Assert.Equal(builtinHostName ?? kernelName.ToLowerInvariant(), HostOf(documents).GetProperty("name").GetString());
    }

    [Fact]
    public void ReplaceFieldsTrueOverwritesLeavesAndKeepsOtherCustomHostKeys()
    {
        var host = HostOf(Writer("""
            fields_under_root: true
            fields:
              host:
                name: custom-name
                rack: r1
                ip: 10.9.9.9
                os: {flavor: hardened, kernel: custom-kernel}
            processors:
              - add_host_metadata: ~
            """));
        Assert.Equal("web-01", host.GetProperty("name").GetString());
        Assert.Equal("r1", host.GetProperty("rack").GetString());
        Assert.Equal(new[] { "192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1" }, Strings(host.GetProperty("ip")));
        Assert.Equal("hardened", host.GetProperty("os").GetProperty("flavor").GetString());
        Assert.Equal("6.1.0-18-amd64", host.GetProperty("os").GetProperty("kernel").GetString());
        Assert.Equal("debian", host.GetProperty("os").GetProperty("platform").GetString());
    }

    [Fact]
    public void ReplaceFieldsFalseKeepsCustomHostFieldsThatHoldMoreThanAName()
    {
        var document = Document(Writer("""
            fields_under_root: true
            fields:
              host: {rack: r1, ip: 10.9.9.9}
              team: blue
            processors:
              - add_host_metadata:
                  replace_fields: false
            """));
        Assert.Equal("""{"rack":"r1","ip":"10.9.9.9","name":"Edge-1"}""", document.GetProperty("host").GetRawText());
        Assert.Equal("blue", document.GetProperty("team").GetString());
        Assert.Single(document.EnumerateObject(), p => p.Name == "host");
    }

    [Fact]
    public void ReplaceFieldsFalseStillAddsHostDataOverALoneCustomName()
    {
        var host = HostOf(Writer("""
            fields_under_root: true
            fields:
              host: {name: only-a-name}
            processors:
              - add_host_metadata:
                  replace_fields: false
            """));
        Assert.Equal("web-01", host.GetProperty("name").GetString());
        Assert.Equal("web-01", host.GetProperty("hostname").GetString());
    }

    [Fact]
    public void WithoutTheProcessorCustomHostKeysKeepTheirNameAndGetTheBuiltInOneOtherwise()
    {
        Assert.Equal("""{"rack":"r1","name":"Edge-1"}""", HostOf(Writer("fields_under_root: true\nfields:\n  host: {rack: r1}\n")).GetRawText());
        Assert.Equal("""{"name":"mine"}""", HostOf(Writer("fields_under_root: true\nfields:\n  host: {name: mine}\n")).GetRawText());
    }

    [Fact]
    public void CustomHostFieldsNotUnderRootStayUnderFields()
    {
        var document = Document(Writer("fields:\n  host: {rack: r1}\nprocessors:\n  - add_host_metadata: ~\n"));
        Assert.Equal("r1", document.GetProperty("fields").GetProperty("host").GetProperty("rack").GetString());
        Assert.False(document.GetProperty("host").TryGetProperty("rack", out _));
    }

    [Fact]
    public void GeoOptionsBecomeHostGeo()
    {
        var host = HostOf(Writer("""
            processors:
              - add_host_metadata:
                  geo:
                    name: nyc-dc1
                    location: 40.7128, -74.0060
                    country_iso_code: US
                    city_name: ""
            """));
        Assert.Equal("""{"name":"nyc-dc1","location":"40.7128, -74.0060","country_iso_code":"US"}""", host.GetProperty("geo").GetRawText());
    }

    private void WriteOsRelease(string codename)
    {
        Directory.CreateDirectory(_root.Combine("etc"));
        File.WriteAllText(_root.Combine("etc/os-release"), $"NAME=\"Test Linux\"\nVERSION=\"1 ({codename})\"\nID=test\n");
    }

    [Theory]
    [InlineData("5m", 300)]
    [InlineData("90s", 90)]
    [InlineData("0", 1)]
    public void HostDataIsReReadAfterTheTtl(string ttl, int seconds)
    {
        WriteOsRelease("first");
        var settings = HostMetadataSettingsTests.Load($"processors:\n  - add_host_metadata:\n      netinfo.enabled: false\n      cache.ttl: {ttl}\n");
        var documents = new DocumentWriter(Agent, HostInfo.Read(_root.Path), Array.Empty<string>(), null, false, settings.HostMetadata);
        var time = new FakeTimeProvider();
        using var refresh = new HostMetadataRefresh(documents, settings.HostMetadata!, time, Logger.Null, _root.Path);
        refresh.Start();
        Assert.Equal("first", HostOf(documents).GetProperty("os").GetProperty("codename").GetString());

        WriteOsRelease("second");
        time.Advance(TimeSpan.FromSeconds(seconds) - TimeSpan.FromMilliseconds(1));
        Assert.Equal("first", HostOf(documents).GetProperty("os").GetProperty("codename").GetString());
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("second", HostOf(documents).GetProperty("os").GetProperty("codename").GetString());
        Assert.Equal("second", documents.Host.OsCodename);

        WriteOsRelease("third");
        time.Advance(TimeSpan.FromSeconds(seconds));
        Assert.Equal("third", HostOf(documents).GetProperty("os").GetProperty("codename").GetString());
    }

    [Fact]
    public async Task ADocumentNeverMixesTwoHostVersionsWhileWritersRunConcurrently()
    {
        var documents = Writer("processors:\n  - add_host_metadata: ~\n", Crafted("even"));
        using var stop = new CancellationTokenSource();
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var writers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            do
            {
                var document = Document(documents);
                Assert.Single(document.EnumerateObject(), p => p.Name == "host");
                var host = document.GetProperty("host");
                var codename = host.GetProperty("os").GetProperty("codename").GetString()!;
                Assert.Equal(codename == "even" ? 3 : 1, host.GetProperty("ip").GetArrayLength());
                seen.AddOrUpdate(codename, 1, (_, n) => n + 1);
            }
            while (!stop.IsCancellationRequested);
        })).ToArray();

        var odd = new HostInfo
        {
            Name = "web-01", Hostname = "web-01", Id = "", Architecture = "x86_64", OsType = "linux", OsFamily = "debian",
            OsName = "Debian GNU/Linux", OsVersion = "12", OsPlatform = "debian", OsKernel = "6.1", OsCodename = "odd",
            Network = new NetworkAddresses(new[] { "198.51.100.1" }, Array.Empty<string>()),
        };
        // Swap until the writers have written a good number of documents under both versions.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        for (var i = 0; seen.GetValueOrDefault("even") + seen.GetValueOrDefault("odd") < 2000 || seen.Count < 2; i++)
        {
            Assert.True(DateTime.UtcNow < deadline, "the writers wrote too few documents");
            Assert.True(documents.SetHost(i % 2 == 0 ? odd : Crafted("even")));
            if (i % 2 == 1)
            {
                Thread.Yield();
            }
        }

        if (!documents.Host.OsCodename.Equals("even", StringComparison.Ordinal))
        {
            Assert.True(documents.SetHost(Crafted("even")));
        }

        Assert.False(documents.SetHost(Crafted("even"))); // unchanged data: no swap
        stop.Cancel();
        await Task.WhenAll(writers);
    }

    [Fact]
    public void HostFieldsAreIndexNameConstantsOnlyWhenNothingReReadsThem()
    {
        Assert.Equal("Edge-1", Writer("").ConstantHostField("host.name"));
        Assert.Null(Writer("").ConstantHostField("host.hostname"));
        Assert.Null(Writer("processors:\n  - add_host_metadata: ~\n").ConstantHostField("host.name"));
    }
}
