using System.Diagnostics;
using System.Text.Json;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Cli;

/// <summary>`shipper run` as a user runs it: the real binary, real signals, real stdout.</summary>
public class RunCommandTests
{
    private static string ShipperBinary => Path.Combine(AppContext.BaseDirectory, "shipper");

    [KernelFact]
    public async Task RunPrintsEcsDocumentsAndStopsCleanlyOnSigterm()
    {
        using var config = new TempConfig("""
            shipper.modules:
              - module: system
                datasets: [process]
            output.console:
              enabled: true
            logging.metrics.period: 1s
            """);
        var start = new ProcessStartInfo(ShipperBinary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "run", "-e", "-c", config.Path, "--path.data", Path.Combine(config.Directory, "data"), "--disable-watchdog" })
        {
            start.ArgumentList.Add(arg);
        }

        using var shipper = Process.Start(start)!;
        try
        {
            await RunAndStopAsync(shipper);
        }
        finally
        {
            if (!shipper.HasExited)
            {
                shipper.Kill(entireProcessTree: true); // never leave a shipper behind a failed test
            }
        }
    }

    private static async Task RunAndStopAsync(Process shipper)
    {
        var stderr = shipper.StandardError.ReadToEndAsync();
        var documents = new List<JsonDocument>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (documents.Count < 5 && DateTime.UtcNow < deadline)
        {
            var line = await shipper.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.NotNull(line);
            documents.Add(JsonDocument.Parse(line));
        }

        Assert.Equal(5, documents.Count);
        foreach (var doc in documents)
        {
            var root = doc.RootElement;
            Assert.True(root.TryGetProperty("@timestamp", out _));
            Assert.Equal("shipper", root.GetProperty("agent").GetProperty("type").GetString());
            Assert.Equal("process", root.GetProperty("event").GetProperty("dataset").GetString());
            Assert.Equal("system", root.GetProperty("service").GetProperty("type").GetString());
            Assert.True(root.GetProperty("process").GetProperty("pid").GetInt32() > 0);
        }

        Assert.Contains(documents, d => d.RootElement.GetProperty("event").GetProperty("action").GetString() == "existing_process");

        TestEnvironment.Signal(shipper.Id, 15);
        var rest = await shipper.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await shipper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, shipper.ExitCode);
        foreach (var line in rest.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            JsonDocument.Parse(line).Dispose(); // every line up to the end is a whole document
        }

        var log = await stderr;
        Assert.Contains("received SIGTERM", log);
        Assert.Contains("Total metrics", log);
        Assert.DoesNotContain("\"@timestamp\"", log); // documents never go to the log
    }

    [Fact]
    public async Task ABadConfigExitsOneWithTheSettingAndNoStackTrace()
    {
        using var config = new TempConfig("shipper.modules:\n  - module: system\n    datasets: [process]\noutput.console:\n  pretty: perhaps\n");
        var start = new ProcessStartInfo(ShipperBinary) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(config.Path);
        using var shipper = Process.Start(start)!;
        var stderr = await shipper.StandardError.ReadToEndAsync();
        await shipper.WaitForExitAsync();
        Assert.Equal(1, shipper.ExitCode);
        Assert.Contains("output.console.pretty", stderr);
        Assert.Contains(":5:", stderr);
        Assert.DoesNotContain(" at Shipper.", stderr);
    }

    [KernelFact]
    public async Task SigtermStopsTheShipperEvenWhenNobodyReadsItsStdout()
    {
        // .NET's console streams serialise stdout and stderr writes on one lock: documents blocked on a full
        // stdout pipe used to block every log line, and the SIGTERM handler with them. The stop must still end
        // within shipper.shutdown_timeout plus the output's 1 s grace.
        using var config = new TempConfig("""
            shipper.modules:
              - module: system
                datasets: [process]
            output.console:
              enabled: true
            shipper.shutdown_timeout: 2s
            """);
        var start = new ProcessStartInfo(ShipperBinary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "run", "-e", "-c", config.Path, "--path.data", Path.Combine(config.Directory, "data"), "--disable-watchdog" })
        {
            start.ArgumentList.Add(arg);
        }

        using var shipper = Process.Start(start)!;
        var stderr = shipper.StandardError.ReadToEndAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));

        // Far more than a pipe holds (64 KiB): each document is about 1 KiB, and stdout is never read.
        for (var i = 0; i < 300; i++)
        {
            using var child = Process.Start("/bin/true", "stdout-never-read-" + i)!;
            child.WaitForExit();
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        var signalled = Stopwatch.StartNew();
        TestEnvironment.Signal(shipper.Id, 15);
        var exited = await Task.WhenAny(shipper.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(15)));
        if (!shipper.HasExited)
        {
            shipper.Kill();
        }

        var log = await stderr;
        Assert.True(shipper.HasExited && signalled.Elapsed < TimeSpan.FromSeconds(6), $"still running {signalled.Elapsed.TotalSeconds:0.0}s after SIGTERM\n{log}");
        Assert.Contains("received SIGTERM, shutting down", log);
        Assert.Contains("could not be delivered before shutdown", log);
    }

    [KernelFact]
    public async Task AutoFallsBackToProcfsWhenTheProcConnectorIsRefused()
    {
        // The kernel refuses BPF and ignores proc connector subscriptions from outside the initial user namespace (a
        // container): backend auto must say so for both, poll /proc instead, and still report processes.
        using var config = new TempConfig("""
            shipper.modules:
              - module: system
                datasets: [process]
                process.procfs.period: 200ms
            output.console:
              enabled: true
            """);
        using var shipper = StartUnder(config, "unshare", "--user", "--map-root-user");
        try
        {
            var stderr = shipper.StandardError.ReadToEndAsync();

            // The first document is the snapshot's: the backend is chosen and polling by then.
            var first = await shipper.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.NotNull(first);
            using var marker = Process.Start("/bin/sleep", "30")!;
            var started = await ReadUntil(shipper, root => root.GetProperty("process").GetProperty("pid").GetInt32() == marker.Id
                                                           && root.GetProperty("event").GetProperty("action").GetString() == "process_started");

            marker.Kill();
            Assert.True(started, "the poller did not report the process started after it");
            TestEnvironment.Signal(shipper.Id, 15);
            await shipper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            var log = await stderr;
            Assert.Equal(0, shipper.ExitCode);
            Assert.Contains("backend auto chose procfs polling every 200 ms because ebpf is not usable (the process runs in a user namespace", log);
            Assert.Contains(") and netlink is not usable (", log);
        }
        finally
        {
            if (!shipper.HasExited)
            {
                shipper.Kill(entireProcessTree: true);
            }
        }
    }

    [KernelFact]
    public async Task AutoFallsBackToNetlinkWhenBpfIsRefusedAndSaysWhy()
    {
        // Root without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (dropped from every set): the kernel would refuse the
        // program, the proc connector still answers (CAP_NET_ADMIN). The real binary, as a user would run it.
        using var config = new TempConfig(TempConfig.ProcessesToConsole);
        using var shipper = StartUnder(config, "setpriv", "--inh-caps=-bpf,-perfmon,-sys_admin", "--ambient-caps=-bpf,-perfmon,-sys_admin", "--bounding-set=-bpf,-perfmon,-sys_admin", "--");
        try
        {
            var stderr = shipper.StandardError.ReadToEndAsync();
            var first = await shipper.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.NotNull(first);
            using var marker = Process.Start("/bin/true", "after-fallback")!;
            var seen = await ReadUntil(shipper, root => root.GetProperty("process").GetProperty("pid").GetInt32() == marker.Id);

            TestEnvironment.Signal(shipper.Id, 15);
            await shipper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            var log = await stderr;
            Assert.True(seen, "netlink did not report a process started after the fallback\n" + log);
            Assert.Equal(0, shipper.ExitCode);
            Assert.Contains("backend auto chose netlink (real time, /proc read after each event) because ebpf is not usable: the process lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)", log);
        }
        finally
        {
            if (!shipper.HasExited)
            {
                shipper.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>The real binary on <paramref name="config"/> (console output, no watchdog) run by a wrapper that changes its privileges.</summary>
    private static Process StartUnder(TempConfig config, string wrapper, params string[] wrapperArgs)
    {
        var start = new ProcessStartInfo(wrapper) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in wrapperArgs)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var arg in new[] { ShipperBinary, "run", "-e", "-c", config.Path, "--path.data", Path.Combine(config.Directory, "data"), "--disable-watchdog" })
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    /// <summary>Reads documents from the shipper's stdout until one matches (true) or 20 s pass (false).</summary>
    private static async Task<bool> ReadUntil(Process shipper, Func<JsonElement, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var line = await shipper.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.NotNull(line);
            using var doc = JsonDocument.Parse(line);
            if (match(doc.RootElement))
            {
                return true;
            }
        }

        return false;
    }
}
