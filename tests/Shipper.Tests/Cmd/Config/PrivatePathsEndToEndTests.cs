using System.Diagnostics;
using Shipper.Tests.Cmd.Watchdog;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Config;

/// <summary>
/// The attacks on path.data and path.logs, against the binary as built and run by root: a directory others
/// can write in is refused (strict.perms) or warned about; links planted for the log files and meta.json
/// never make root write to, chmod or read their target; meta.json linked to /dev/zero is not read;
/// what the shipper creates is private (directories 0700, files 0600).
/// </summary>
public sealed class PrivatePathsEndToEndTests : IDisposable
{
    private const int SIGTERM = 15;
    private const string VictimText = "the victim's content\n";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _output;
    private readonly TempConfig _config;
    private readonly TempDirectory _temp = new();

    public PrivatePathsEndToEndTests(ITestOutputHelper output)
    {
        _output = output;
        _config = new TempConfig(TempConfig.ProcessesToConsole);
    }

    public void Dispose()
    {
        _config.Dispose();
        _temp.Dispose();
    }

    private static string ShipperBinary => Path.Combine(AppContext.BaseDirectory, "shipper");

    /// <summary>A directory anyone may write in, as /tmp, with the shipper's file names linked to a victim file.</summary>
    private (string Directory, string Victim) PlantedDirectory(UnixFileMode mode)
    {
        var victim = _temp.Combine("victim");
        File.WriteAllText(victim, VictimText);
        File.SetUnixFileMode(victim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var directory = _temp.Combine("shared");
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, mode);
        foreach (var name in new[] { "shipper", "shipper-watcher", "shipper.1", "meta.json" })
        {
            File.CreateSymbolicLink(Path.Combine(directory, name), victim);
        }

        return (directory, victim);
    }

    private static void AssertUntouched(string victim)
    {
        Assert.Equal(VictimText, File.ReadAllText(victim));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(victim));
    }

    /// <summary>
    /// Runs the binary with log files (no -e) and returns its exit code and stderr; kills it after
    /// <paramref name="timeout"/>, or once <paramref name="enough"/> holds.
    /// </summary>
    private (int? ExitCode, string Stderr) Run(TimeSpan timeout, Func<bool>? enough, params string[] args)
    {
        var start = new ProcessStartInfo(ShipperBinary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "run", "-c", _config.Path, "--path.home", _config.Directory })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("SHIPPER_WATCHDOG_WORKER");
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        int? exit = null;
        var deadline = DateTime.UtcNow + timeout;
        while (!process.WaitForExit(TimeSpan.FromMilliseconds(100)) && DateTime.UtcNow < deadline && enough?.Invoke() != true)
        {
        }

        if (process.HasExited)
        {
            exit = process.ExitCode;
        }
        else
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        var text = stderr.GetAwaiter().GetResult();
        _output.WriteLine(text);
        return (exit, text);
    }

    [KernelFact]
    public void AWorldWritableLogAndDataDirectoryIsRefusedWithStrictPermsAndTheLinkedVictimIsUntouched()
    {
        var (shared, victim) = PlantedDirectory((UnixFileMode)0x3ff); // 01777, as /tmp
        var (exit, stderr) = Run(Patience, null, "--path.logs", shared, "--path.data", shared);

        Assert.Equal(1, exit);
        Assert.Contains($"path.data {shared} is writable by group or others (mode 1777)", stderr);
        Assert.Contains("--strict.perms=false", stderr);
        AssertUntouched(victim);
    }

    [KernelFact]
    public void WithStrictPermsOffPlantedLogLinksAreRefusedNotFollowed()
    {
        var (shared, victim) = PlantedDirectory((UnixFileMode)0x1ff); // 0777
        var (exit, stderr) = Run(Patience, null, "--path.logs", shared, "--path.data", _temp.Combine("data"), "--strict.perms=false");

        Assert.Equal(1, exit);
        Assert.Contains($"{shared}/shipper-watcher is a symbolic link (to {victim})", stderr);
        AssertUntouched(victim);
    }

    [KernelFact]
    public void WithStrictPermsOffAWritableDataDirectoryIsWarnedAboutAndAPlantedMetaJsonLinkIsReplacedNotFollowed()
    {
        var (shared, victim) = PlantedDirectory((UnixFileMode)0x1ff);
        using var shipper = ShipperProcess.Start(_config.Path, _config.Directory, _output, extraArgs: new[] { "--path.data", shared, "--strict.perms=false" });
        shipper.Log.WaitFor($"path.data {shared} is writable by group or others (mode 777)", Patience);
        shipper.Log.WaitFor($"{shared}/meta.json is a symbolic link (to {victim})", Patience);
        shipper.Log.WaitFor("starting", Patience);
        shipper.Signal(SIGTERM);
        Assert.True(shipper.WaitForExit(Patience));

        AssertUntouched(victim);
        var meta = Path.Combine(shared, "meta.json");
        Assert.Null(new FileInfo(meta).LinkTarget);
        Assert.Contains("\"uuid\"", File.ReadAllText(meta));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(meta));
    }

    [KernelFact]
    public void AMetaJsonLinkedToDevZeroIsNotReadAndTheShipperStartsAtOnce()
    {
        // Before: the worker read /dev/zero until it ran out of memory (4.2 GB, aborted after 22 s).
        var data = _temp.Combine("data");
        Directory.CreateDirectory(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.CreateSymbolicLink(Path.Combine(data, "meta.json"), "/dev/zero");

        var stopwatch = Stopwatch.StartNew();
        using var shipper = ShipperProcess.Start(_config.Path, _config.Directory, _output, extraArgs: new[] { "--path.data", data, "--disable-watchdog" });
        shipper.Log.WaitFor($"{data}/meta.json is a symbolic link (to /dev/zero)", Patience);
        shipper.Log.WaitFor("starting", Patience);
        var started = stopwatch.Elapsed;
        shipper.Signal(SIGTERM);
        Assert.True(shipper.WaitForExit(Patience));
        Assert.True(started < TimeSpan.FromSeconds(10), $"took {started.TotalSeconds:0.0} s to start");
    }

    [KernelFact]
    public void WhatTheShipperCreatesIsPrivate()
    {
        var data = _temp.Combine("data");
        var logs = _temp.Combine("logs");
        // The worker writes meta.json after it opens its log, so wait for every file the test checks.
        string[] created = { Path.Combine(data, "meta.json"), Path.Combine(logs, "shipper"), Path.Combine(logs, "shipper-watcher") };
        var (exit, _) = Run(Patience, () => Array.TrueForAll(created, File.Exists), "--path.logs", logs, "--path.data", data);

        Assert.Null(exit); // still running when killed
        var directory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        var file = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(directory, File.GetUnixFileMode(data));
        Assert.Equal(directory, File.GetUnixFileMode(logs));
        Assert.Equal(file, File.GetUnixFileMode(Path.Combine(data, "meta.json")));
        Assert.Equal(file, File.GetUnixFileMode(Path.Combine(logs, "shipper")));
        Assert.Equal(file, File.GetUnixFileMode(Path.Combine(logs, "shipper-watcher")));
    }
}
