using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Shipper.Tests.Module.System.Process;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Containers.Docker;

/// <summary>
/// <c>shipper run</c> with <c>processors: [add_docker_metadata]</c> as a user runs it: the real binary, a loopback
/// Docker daemon on a unix socket, a real process in a docker-named cgroup, the document read from stdout.
/// </summary>
public class DockerMetadataEndToEndTests
{
    private static string ShipperBinary => Path.Combine(AppContext.BaseDirectory, "shipper");

    [KernelFact]
    public async Task ARunAddsTheDaemonsNameImageAndLabelsToAContainersProcess()
    {
        var id = ContainerCgroupKernelTests.NewId();
        using var dir = new TempDirectory();
        await using var docker = new LoopbackDocker(dir.Combine("docker.sock"));
        docker.AddRunning(id, "shop-api", "registry.example/shop/api:2.3", new Dictionary<string, string> { ["org.opencontainers.image.version"] = "2.3" });
        docker.Start();
        using var config = new TempConfig($"""
            shipper.modules:
              - module: system
                datasets: [process]
            output.console:
              enabled: true
            processors:
              - add_docker_metadata:
                  host: "{docker.Host}"
            """);
        var start = new ProcessStartInfo(ShipperBinary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "run", "-e", "-c", config.Path, "--path.data", Path.Combine(config.Directory, "data"), "--disable-watchdog" })
        {
            start.ArgumentList.Add(arg);
        }

        var created = new List<string>();
        using var shipper = Process.Start(start)!;
        var stderr = shipper.StandardError.ReadToEndAsync();
        var documents = new ConcurrentQueue<JsonElement>();
        var reading = Task.Run(async () =>
        {
            while (await shipper.StandardOutput.ReadLineAsync() is { } line)
            {
                documents.Enqueue(JsonDocument.Parse(line).RootElement.Clone());
            }
        });
        try
        {
            // Running: documents flow and the watcher follows the daemon's events.
            await Eventually.True(() => !documents.IsEmpty && docker.Subscribers == 1, TimeSpan.FromSeconds(20));
            var procs = Path.Combine(ContainerCgroupKernelTests.MakeCgroup("pids", $"docker/{id}", created), "cgroup.procs");
            using var child = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", $"echo $$ > {procs} && exec /bin/sleep 0.3" } })!;
            Assert.True(child.WaitForExit(10_000));
            await Eventually.True(() => documents.Any(d => IsSleepOf(d, child.Id)), TimeSpan.FromSeconds(20));

            var container = documents.First(d => IsSleepOf(d, child.Id)).GetProperty("container");
            Assert.Equal(id, container.GetProperty("id").GetString());
            Assert.Equal("docker", container.GetProperty("runtime").GetString());
            Assert.Equal("shop-api", container.GetProperty("name").GetString());
            Assert.Equal("registry.example/shop/api:2.3", container.GetProperty("image").GetProperty("name").GetString());
            Assert.Equal("2.3", container.GetProperty("labels").GetProperty("org_opencontainers_image_version").GetString());

            TestEnvironment.Signal(shipper.Id, 15);
            await shipper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(0, shipper.ExitCode);
            Assert.Contains("add_docker_metadata: following the Docker API at " + docker.Host, await stderr);
        }
        finally
        {
            if (!shipper.HasExited)
            {
                shipper.Kill(entireProcessTree: true);
            }

            await reading.WaitAsync(TimeSpan.FromSeconds(20));
            ContainerCgroupKernelTests.RemoveCgroups(created);
        }
    }

    private static bool IsSleepOf(JsonElement document, int pid) =>
        document.GetProperty("process").GetProperty("pid").GetInt32() == pid
        && document.GetProperty("process").TryGetProperty("executable", out var exe) && exe.GetString() == "/usr/bin/sleep";
}
