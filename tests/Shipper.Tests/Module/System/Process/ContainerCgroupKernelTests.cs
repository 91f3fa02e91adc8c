using global::System.Text.Json;
using Shipper.Tests.Support;
using static Shipper.Tests.Module.System.Process.ProcessDatasetKernelTests;

namespace Shipper.Tests.Module.System.Process;

/// <summary>
/// The acceptance test for container.id and container.runtime: a real child process moves itself into cgroups
/// named as each container runtime names them (cgroup v1 controllers under <c>/sys/fs/cgroup/&lt;controller&gt;</c>,
/// cgroup v2 at <c>/sys/fs/cgroup/unified</c>, as this machine and CI mount them), then execs; the real dataset's
/// document for that exec must name the container. Every cgroup the test makes is removed again, even on failure.
/// </summary>
public sealed class ContainerCgroupKernelTests
{
    private const string CgroupRoot = "/sys/fs/cgroup";

    /// <summary>One layout: where the child moves (hierarchy, path) and what its document must say.</summary>
    private sealed record Layout(string Name, (string Hierarchy, string Path)[] Cgroups, string? ExpectedId, string? ExpectedRuntime);

    [KernelFact]
    public async Task AProcessMovedIntoEachRuntimesCgroupGetsThatContainer()
    {
        var pod = Guid.NewGuid().ToString("D");
        var podSlice = pod.Replace('-', '_');
        var ids = Enumerable.Range(0, 12).Select(_ => NewId()).ToArray();
        Layout[] layouts =
        [
            new("docker, cgroup v1 (cgroupfs driver)", [("pids", $"docker/{ids[0]}")], ids[0], "docker"),
            new("docker, cgroup v2 (systemd driver)", [("unified", $"system.slice/docker-{ids[1]}.scope")], ids[1], "docker"),
            new("containerd CRI (kubelet, systemd driver)", [("unified", $"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{podSlice}.slice/cri-containerd-{ids[2]}.scope")], ids[2], "containerd"),
            new("CRI-O (kubelet, systemd driver)", [("unified", $"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{podSlice}.slice/crio-{ids[3]}.scope")], ids[3], "cri-o"),
            new("podman", [("unified", $"machine.slice/libpod-{ids[4]}.scope")], ids[4], "podman"),
            new("kubelet cgroupfs driver, cgroup v1", [("cpu", $"kubepods/besteffort/pod{pod}/{ids[5]}")], ids[5], null),
            new("CRI-O's conmon is not in the container", [("unified", $"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{podSlice}.slice/crio-conmon-{ids[6]}.scope")], null, null),
            new("podman's conmon is not in the container", [("unified", $"machine.slice/libpod-conmon-{ids[7]}.scope")], null, null),
            new("hybrid host: the v1 line comes first", [("unified", $"system.slice/crio-{ids[8]}.scope"), ("pids", $"docker/{ids[9]}")], ids[9], "docker"),
        ];

        var created = new List<string>();
        try
        {
            await using var run = await DatasetRun.StartAsync("netlink");
            var failures = new List<string>();
            foreach (var layout in layouts)
            {
                var procs = layout.Cgroups.Select(c => Path.Combine(MakeCgroup(c.Hierarchy, c.Path, created), "cgroup.procs")).ToArray();
                var moves = string.Join("; ", procs.Select(p => $"echo $$ > {p}"));
                using var child = Spawn("/bin/sh", "/", "-c", $"{moves} && exec /bin/sleep 0.3");
                var pid = child.Id;
                var document = await run.WaitFor(d => Pid(d) == pid && Executable(d) == "/usr/bin/sleep");
                Assert.True(child.WaitForExit(10_000), "the child did not exit");
                Assert.True(child.ExitCode == 0, $"{layout.Name}: the child could not move into its cgroups");

                var (id, runtime) = ContainerOf(document);
                if (id != layout.ExpectedId || runtime != layout.ExpectedRuntime)
                {
                    failures.Add($"{layout.Name}: expected container {layout.ExpectedId ?? "(none)"} runtime {layout.ExpectedRuntime ?? "(none)"}, got {id ?? "(none)"} runtime {runtime ?? "(none)"}");
                }
            }

            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }
        finally
        {
            RemoveCgroups(created);
        }
    }

    [KernelFact]
    public async Task WithAddDockerMetadataTheDocumentGetsTheContainersNameImageAndLabels()
    {
        var id = NewId();
        using var dir = new TempDirectory();
        await using var docker = new LoopbackDocker(dir.Combine("docker.sock"));
        docker.AddRunning(id, "web-1", "nginx:1.27", new Dictionary<string, string> { ["com.example.tier"] = "front" });
        docker.Start();
        var settings = new Shipper.Containers.Docker.DockerMetadataSettings { Endpoint = Shipper.Containers.Docker.DockerEndpoint.Parse(docker.Host) };
        await using var watcher = new Shipper.Containers.Docker.DockerWatcher(settings, Shipper.Module.Logging.Logger.Null, TimeProvider.System);
        using var stopWatcher = new CancellationTokenSource();
        var watching = watcher.RunAsync(stopWatcher.Token);
        var created = new List<string>();
        try
        {
            await Eventually.True(() => watcher.Connected, TimeSpan.FromSeconds(10));
            await using var run = await DatasetRun.StartAsync("netlink", containerMetadata: watcher);
            var procs = Path.Combine(MakeCgroup("pids", $"docker/{id}", created), "cgroup.procs");
            using var child = Spawn("/bin/sh", "/", "-c", $"echo $$ > {procs} && exec /bin/sleep 0.3");
            var document = await run.WaitFor(d => Pid(d) == child.Id && Executable(d) == "/usr/bin/sleep");
            Assert.True(child.WaitForExit(10_000), "the child did not exit");

            var container = document.GetProperty("container");
            Assert.Equal(id, container.GetProperty("id").GetString());
            Assert.Equal("docker", container.GetProperty("runtime").GetString());
            Assert.Equal("web-1", container.GetProperty("name").GetString());
            Assert.Equal("nginx:1.27", container.GetProperty("image").GetProperty("name").GetString());
            Assert.Equal("front", container.GetProperty("labels").GetProperty("com_example_tier").GetString());
        }
        finally
        {
            stopWatcher.Cancel();
            await watching;
            RemoveCgroups(created);
        }
    }

    private static (string? Id, string? Runtime) ContainerOf(JsonElement document)
    {
        if (!document.TryGetProperty("container", out var container))
        {
            return (null, null);
        }

        return (container.GetProperty("id").GetString(), container.TryGetProperty("runtime", out var runtime) ? runtime.GetString() : null);
    }

    private static string? Executable(JsonElement d) =>
        d.GetProperty("process").TryGetProperty("executable", out var exe) ? exe.GetString() : null;

    internal static string NewId() => Convert.ToHexStringLower(global::System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>Creates the cgroup and every missing parent, recording each directory made (parents first).</summary>
    internal static string MakeCgroup(string hierarchy, string path, List<string> created)
    {
        var root = Path.Combine(CgroupRoot, hierarchy);
        Assert.True(File.Exists(Path.Combine(root, "cgroup.procs")), $"no cgroup hierarchy mounted at {root}");
        var current = root;
        foreach (var part in path.Split('/'))
        {
            current = Path.Combine(current, part);
            if (!Directory.Exists(current))
            {
                Directory.CreateDirectory(current);
                created.Add(current);
            }
        }

        return current;
    }

    /// <summary>
    /// Removes the cgroups made, deepest first. A cgroup can be removed once no task is in it; the children were
    /// reaped, but the kernel may take a moment to drop a dying task from a v2 cgroup's population, so each rmdir
    /// is retried briefly on EBUSY.
    /// </summary>
    internal static void RemoveCgroups(List<string> created)
    {
        var left = new List<string>();
        foreach (var directory in created.OrderByDescending(d => d.Length))
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (true)
            {
                try
                {
                    Directory.Delete(directory, recursive: false);
                    break;
                }
                catch (DirectoryNotFoundException)
                {
                    break;
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(20);
                }
                catch (IOException error)
                {
                    left.Add($"{directory}: {error.Message}");
                    break;
                }
            }
        }

        Assert.True(left.Count == 0, "cgroups left behind: " + string.Join("; ", left));
    }
}
