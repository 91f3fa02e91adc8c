using System.Diagnostics;
using System.Text.Json;
using Shipper.Cli;
using Shipper.Events;
using Shipper.IndexManagement;
using Shipper.Tests.Cmd.IndexManagement;
using Shipper.Tests.Cmd.Watchdog;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Worker;

/// <summary>
/// The acceptance check of issue 15: a storm of short processes with odd arguments through the real binary and
/// its real process dataset; every leaf of every console document is declared in fields.yml with a value of its
/// type, mapped by the exported template as ECS 8.17 maps it, and no newer than the declared ecs.version.
/// The run has every processor that adds fields (add_host_metadata with geo, add_docker_metadata against a
/// loopback daemon) and one process in a docker cgroup, so host.* and container.* are walked too.
/// </summary>
public sealed class EcsDocumentsEndToEndTests : IAsyncDisposable
{
    private const int Processes = 300;

    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _dir = new();
    private readonly LoopbackDocker _docker;
    private readonly TempConfig _config;
    private readonly List<string> _cgroups = new();

    public EcsDocumentsEndToEndTests(ITestOutputHelper output)
    {
        _output = output;
        _docker = new LoopbackDocker(_dir.Combine("docker.sock"));
        _config = new TempConfig($$"""
            {{TempConfig.ProcessesToConsole}}
            processors:
              - add_host_metadata:
                  geo.name: lab
                  geo.location: "52.52, 13.40"
                  geo.country_iso_code: DE
              - add_docker_metadata:
                  host: "{{_docker.Host}}"
            """);
    }

    public async ValueTask DisposeAsync()
    {
        Module.System.Process.ContainerCgroupKernelTests.RemoveCgroups(_cgroups);
        await _docker.DisposeAsync();
        _config.Dispose();
        _dir.Dispose();
    }

    [KernelFact]
    public void EveryFieldOfAStormsDocumentsIsDeclaredTypedAndMappedAsEcs()
    {
        var containerId = Module.System.Process.ContainerCgroupKernelTests.NewId();
        _docker.AddRunning(containerId, "storm-box", "registry.example/storm:1", new Dictionary<string, string> { ["com.example.tier"] = "web" });
        _docker.Start();
        var stdout = new StringWriter();
        Assert.Equal(0, CommandLine.Run(new[] { "export", "template", "-c", _config.Path }, stdout, new StringWriter(), Stream.Null));
        using var template = JsonDocument.Parse(stdout.ToString());
        var checker = new DocumentFields(FieldsYml.Embedded(), template.RootElement);

        var marker = "ecs-storm-" + Guid.NewGuid().ToString("N")[..8];
        using var shipper = ShipperProcess.Start(_config.Path, _config.Directory, null);
        shipper.Log.WaitFor("process: backend", TimeSpan.FromSeconds(30));
        RunStorm(marker);
        var deadline = Stopwatch.StartNew();
        var procs = Path.Combine(Module.System.Process.ContainerCgroupKernelTests.MakeCgroup("pids", $"docker/{containerId}", _cgroups), "cgroup.procs");
        using (var boxed = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", $"echo $$ > {procs} && exec /bin/sleep 0.2" } })!)
        {
            Assert.True(boxed.WaitForExit(10_000));
        }

        while (!shipper.Documents.Lines.Any(l => l.Contains("storm-box", StringComparison.Ordinal)) && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(200);
        }

        while (MarkedPids(shipper, marker) < Processes && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(200); // polling for documents the kernel and the shipper produce in their own time
        }

        var lines = shipper.Documents.Lines;
        var marked = MarkedDocuments(shipper, marker);
        // Some of the storm's processes end before their args can be read; most must be seen with them.
        Assert.True(MarkedPids(shipper, marker) >= Processes / 2, $"{MarkedPids(shipper, marker)} of {Processes} storm processes seen with their args");

        var problems = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            using var document = JsonDocument.Parse(line);
            Assert.Equal(new[] { "@timestamp", "@metadata" }, document.RootElement.EnumerateObject().Take(2).Select(p => p.Name));
            Assert.Equal(BuildInfo.EcsVersion, document.RootElement.GetProperty("ecs").GetProperty("version").GetString());
            foreach (var (path, value) in checker.Leaves(document.RootElement))
            {
                seen.Add(path);
                if (checker.Problem(path, value, BuildInfo.EcsVersion) is { } problem)
                {
                    problems.Add(problem);
                }
            }
        }

        _output.WriteLine($"{lines.Count} documents, {seen.Count} distinct fields: {string.Join(", ", seen)}");
        Assert.Empty(problems);
        Assert.Contains("process.command_line", seen);
        Assert.Contains("process.parent.command_line", seen);
        Assert.Contains(lines, l => l.Contains("\"labels\":{\"com_example_tier\":\"web\"}", StringComparison.Ordinal));
        foreach (var field in new[] { "host.ip", "host.mac", "host.os.codename", "host.containerized", "host.geo.location", "host.geo.name", "container.id", "container.runtime", "container.name", "container.image.name", "container.labels" })
        {
            Assert.Contains(field, seen);
        }

        // The storm's command lines split back into the args that ran.
        foreach (var document in marked)
        {
            var process = document.RootElement.GetProperty("process");
            var args = process.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToArray();
            Assert.Equal(new[] { "a b", "it's", "", "new\nline", "é\"$x\\", marker }, args[^7..^1]);
            Assert.Equal(Shipper.Module.System.Process.Documents.QuotedCommandLine.Join(args), process.GetProperty("command_line").GetString());
        }
    }

    /// <summary>Documents of the storm's own processes: their args (not their parent's) end with the marker and a number.</summary>
    private static List<JsonDocument> MarkedDocuments(ShipperProcess shipper, string marker) =>
        shipper.Documents.Lines.Where(l => l.Contains(marker, StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l))
            .Where(d => d.RootElement.GetProperty("process").TryGetProperty("args", out var args) && args.GetArrayLength() > 1 && args[args.GetArrayLength() - 2].GetString() == marker)
            .ToList();

    private static int MarkedPids(ShipperProcess shipper, string marker) =>
        MarkedDocuments(shipper, marker).Select(d => d.RootElement.GetProperty("process").GetProperty("pid").GetInt32()).Distinct().Count();

    /// <summary>Short processes with odd arguments, started one after another by one shell.</summary>
    private static void RunStorm(string marker)
    {
        var script = $"i=0; while [ $i -lt {Processes} ]; do /usr/bin/env true 'a b' \"it's\" '' 'new\nline' 'é\"$x\\' {marker} $i; i=$((i+1)); done";
        using var shell = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", script }, UseShellExecute = false })!;
        Assert.True(shell.WaitForExit(60_000));
        Assert.Equal(0, shell.ExitCode);
    }
}
