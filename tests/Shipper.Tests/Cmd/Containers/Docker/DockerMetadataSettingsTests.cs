using Shipper.Cli;
using Shipper.Config;
using Shipper.Containers.Docker;
using Shipper.Module.Config;
using Shipper.Module.Registry;
using Shipper.Tests.Support;
using Shipper.Worker;

namespace Shipper.Tests.Cmd.Containers.Docker;

/// <summary>add_docker_metadata's options as a user writes them in the config file, checked by <c>test config</c>.</summary>
public class DockerMetadataSettingsTests
{
    private const string Minimal = """
        shipper.modules:
          - module: system
            datasets: [process]
        output.console:
          enabled: true
        """;

    private static ShipperSettings Validate(string yaml)
    {
        using var config = new TempConfig(yaml);
        var settings = ConfigLoader.Load(config.Path, true, [], new PathSettings("", "", "", ""), strictPerms: true, _ => null);
        ShipperWorker.Build(settings, new WorkerOptions { ForRun = false }, BuiltInDatasets.Create()).DisposeAsync().AsTask().Wait();
        return settings;
    }

    private static ConfigException ExpectError(string yaml) => Assert.Throws<ConfigException>(() => Validate(yaml));

    [Fact]
    public void NotConfiguredMeansNoWatcher()
    {
        Assert.Null(Validate(Minimal).DockerMetadata);
    }

    [Fact]
    public void DefaultsAreLibbeats()
    {
        var docker = Validate(Minimal + "\nprocessors:\n  - add_docker_metadata: ~\n").DockerMetadata;

        Assert.NotNull(docker);
        Assert.Equal("/var/run/docker.sock", docker.Endpoint.SocketPath);
        Assert.True(docker.Dedot);
        Assert.Equal(TimeSpan.FromSeconds(60), docker.CleanupTimeout);
        Assert.Empty(docker.Warnings);
    }

    [Fact]
    public void EveryHonouredOptionIsRead()
    {
        var docker = Validate(Minimal + """

            processors:
              - add_docker_metadata:
                  host: "tcp://127.0.0.1:2375"
                  labels.dedot: false
                  cleanup_timeout: 5m
                  match_pids: ["process.pid"]
            """).DockerMetadata!;

        Assert.Null(docker.Endpoint.SocketPath);
        Assert.Equal("127.0.0.1", docker.Endpoint.Host);
        Assert.Equal(2375, docker.Endpoint.Port);
        Assert.False(docker.Dedot);
        Assert.Equal(TimeSpan.FromMinutes(5), docker.CleanupTimeout);
    }

    [Theory]
    [InlineData("ssl:\n        certificate_authority: /etc/ca.pem", "TLS to the Docker API is not supported")]
    [InlineData("host: \"https://docker:2376\"", "TLS to the Docker API is not supported")]
    [InlineData("host: \"docker.sock\"", "not a Docker API address")]
    [InlineData("host: \"tcp://docker\"", "the port is required")]
    [InlineData("match_fields: [\"container.id\"]", "match_fields is not supported")]
    [InlineData("match_pids: [\"process.parent.pid\"]", "must include process.pid")]
    [InlineData("match_pids: [\"process.pid\", \"process.ppid\"]", "'process.ppid' is not supported")]
    [InlineData("wait_for_metadata: true", "unknown add_docker_metadata option 'wait_for_metadata'")]
    [InlineData("labels.dedup: true", "unknown add_docker_metadata option 'labels.dedup'")]
    [InlineData("cleanup_timeout: 0s", "cleanup_timeout")]
    public void AnOptionThatCannotBeHonouredIsAnErrorNamingIt(string option, string problem)
    {
        var error = ExpectError(Minimal + "\nprocessors:\n  - add_docker_metadata:\n      " + option + "\n");

        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ListedTwiceIsAnError()
    {
        var error = ExpectError(Minimal + "\nprocessors:\n  - add_docker_metadata: ~\n  - add_docker_metadata: ~\n");

        Assert.Contains("listed twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TestConfigPrintsTheLogFileOptionsAndAddKubernetesMetadataAsWarnings()
    {
        using var config = new TempConfig(Minimal + """

            processors:
              - add_docker_metadata:
                  match_source: true
                  match_source_index: 4
              - add_kubernetes_metadata: ~
            """);
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = CommandLine.Run(["test", "config", "-c", config.Path], stdout, stderr, Stream.Null);

        var printed = stdout.ToString() + stderr.ToString();
        Assert.Equal(0, code);
        Assert.Contains("add_docker_metadata.match_source has no effect", printed, StringComparison.Ordinal);
        Assert.Contains("add_docker_metadata.match_source_index has no effect", printed, StringComparison.Ordinal);
        Assert.Contains("add_kubernetes_metadata is not supported and is ignored", printed, StringComparison.Ordinal);
        Assert.Contains("Config OK", stdout.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unix:///run/docker.sock", "/run/docker.sock", null, 0)]
    [InlineData("tcp://127.0.0.1:2375", null, "127.0.0.1", 2375)]
    [InlineData("http://localhost:2375/", null, "localhost", 2375)]
    [InlineData("tcp://[::1]:2375", null, "::1", 2375)]
    public void HostsAreUnixSocketsOrPlainHttp(string host, string? socket, string? name, int port)
    {
        var endpoint = DockerEndpoint.Parse(host);

        Assert.Equal(socket, endpoint.SocketPath);
        Assert.Equal(name, endpoint.Host);
        Assert.Equal(port, endpoint.Port);
    }
}
