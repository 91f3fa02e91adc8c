using System.Runtime.InteropServices;
using Shipper.Config;
using Shipper.Events;
using Shipper.IndexManagement;
using Shipper.Outputs.Elasticsearch;
using Shipper.Module.Config;
using Shipper.Module.Monitoring;
using Shipper.Module.Registry;
using Shipper.Watchdog;
using Shipper.Worker;

namespace Shipper.Cli;

/// <summary>
/// The <c>shipper</c> command: verbs and exit codes as beats have them. 0 is success, 1 a config or usage
/// error (the message names the setting and where it is), 2 and above runtime failures. A user error never
/// prints a stack trace.
/// </summary>
public static class CommandLine
{
    public const int ExitOk = 0;
    public const int ExitConfigError = 1;
    public const int ExitRuntimeFailure = 2;

    public const string Usage = """
        Usage: shipper [command] [flags]

        Commands:
          run                     Run the shipper (the default)
          test config             Check the configuration and print "Config OK"
          test output             Check that the configured output can be reached
          export config           Print the effective configuration (secrets redacted)
          export template         Print the Elasticsearch index template built from fields.yml
          export ilm-policy       Print the ILM policy (setup.ilm.*)
          setup --index-management  Load the ILM policy and the index template into Elasticsearch
          version                 Print version information

        Flags:
          -c FILE                 Configuration file (default shipper.yml in --path.config)
          -e                      Log to stderr instead of files
          -d SELECTORS            Enable debug logging for these selectors ("*" for all), comma separated
          -E key=value            Override a setting (repeatable; values are typed like YAML)
          --path.home DIR         Home directory (default: the binary's directory)
          --path.config DIR       Configuration directory (default: path.home)
          --path.data DIR         Data directory (default: path.home/data)
          --path.logs DIR         Logs directory (default: path.home/logs)
          --strict.perms=BOOL     Refuse config files, data and log directories writable by others (default true)
          --disable-watchdog      Run modules in this process without a watcher
          -h, --help              Show this help
        """;

    public static int Run(string[] args) => Run(args, Console.Out, Console.Error, OpenDocumentStream());

    /// <summary>
    /// Standard output for documents, as a plain stream on fd 1. Not <c>Console.OpenStandardOutput()</c>: .NET's
    /// console streams take one process-wide lock (on <c>Console.Out</c>) around every write to stdout and
    /// stderr alike, so a reader that stops reading our stdout blocked every log line too, and with it the
    /// SIGTERM handler that logs "received SIGTERM": the shipper could not be stopped.
    /// </summary>
    private static Stream OpenDocumentStream() =>
        new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, Stream documentStream)
    {
        CliOptions options;
        try
        {
            options = CliParser.Parse(args);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"Error: {e.Message}");
            stderr.WriteLine(Usage);
            return ExitConfigError;
        }

        if (options.Help)
        {
            stdout.WriteLine(Usage);
            return ExitOk;
        }

        var verb = string.Join(' ', options.Verb);
        try
        {
            return verb switch
            {
                "" or "run" => RunShipper(options, args, stderr, documentStream),
                "test config" => TestConfig(options, stdout),
                "test output" => TestOutput(options, stdout),
                "export template" => ExportTemplate(options, stdout),
                "export ilm-policy" => ExportIlmPolicy(options, stdout),
                "setup" => Setup(options, stdout),
                "export config" => ExportConfig(options, stdout),
                "version" => PrintVersion(stdout),
                "help" => PrintUsage(stdout),
                _ => throw new UsageException($"unknown command '{verb}'"),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"Error: {e.Message}");
            stderr.WriteLine(Usage);
            return ExitConfigError;
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"Exiting: {Logging.ConfiguredSecrets.KeyFormsOnly.Redact(e.Message)}");
            return ExitConfigError;
        }
    }

    public static ShipperSettings LoadSettings(CliOptions options) =>
        ConfigLoader.Load(
            options.ConfigFile,
            options.ConfigFileGiven,
            options.Overrides,
            new PathSettings(options.PathHome, options.PathConfig, options.PathData, options.PathLogs),
            options.StrictPerms);

    private static int TestConfig(CliOptions options, TextWriter stdout)
    {
        var settings = LoadSettings(options);
        var worker = ShipperWorker.Build(settings, new WorkerOptions { ForRun = false, StrictPerms = options.StrictPerms }, BuiltInDatasets.Create());
        worker.DisposeAsync().AsTask().GetAwaiter().GetResult();
        foreach (var line in worker.Warnings)
        {
            stdout.WriteLine($"Warning: {line}");
        }

        stdout.WriteLine("Config OK");
        return ExitOk;
    }

    private static int TestOutput(CliOptions options, TextWriter stdout)
    {
        var settings = LoadSettings(options);
        if (settings.OutputName != "elasticsearch")
        {
            stdout.WriteLine("console: documents go to stdout... OK");
            return ExitOk;
        }

        var es = ElasticsearchSettings.Parse(settings.ElasticsearchSection);
        return OutputTester.RunAsync(es, stdout).GetAwaiter().GetResult();
    }

    private static int ExportTemplate(CliOptions options, TextWriter stdout)
    {
        var settings = LoadSettings(options);
        var es = settings.OutputName == "elasticsearch" ? ElasticsearchSettings.Parse(settings.ElasticsearchSection) : null;
        try
        {
            new IndexTemplateBuilder(TemplateSettings.Parse(settings.SetupTemplateSection, es)).Export(stdout);
        }
        catch (FormatException e)
        {
            throw new ConfigException("setup.template.name", SourceLocation.None, e.Message);
        }

        return ExitOk;
    }

    /// <summary>Prints the policy whether or not <c>setup.ilm.enabled</c> is true: the command asks for it.</summary>
    private static int ExportIlmPolicy(CliOptions options, TextWriter stdout)
    {
        var settings = LoadSettings(options);
        new IlmPolicy(settings.Ilm).Export(stdout);
        return ExitOk;
    }

    private static int Setup(CliOptions options, TextWriter stdout)
    {
        var settings = LoadSettings(options);
        if (settings.OutputName != "elasticsearch")
        {
            throw new ConfigException("output", settings.Root.Location, "setup --index-management loads the ILM policy and the index template into Elasticsearch: configure output.elasticsearch");
        }

        var es = ElasticsearchSettings.Parse(settings.ElasticsearchSection);
        var template = TemplateSettings.Parse(settings.SetupTemplateSection, es);
        var log = new Shipper.Module.Logging.Logger(new Logging.LogWriter(Shipper.Module.Logging.LogLevel.Info, options.DebugSelectors, false, Console.Error, null, secrets: Logging.ConfiguredSecrets.From(settings.Root)), "setup");
        return IndexSetup.RunAsync(es, template, stdout, log, settings.Ilm).GetAwaiter().GetResult();
    }

    private static int ExportConfig(CliOptions options, TextWriter stdout)
    {
        var settings = LoadSettings(options);
        ConfigExporter.Write(settings.Root, stdout);
        return ExitOk;
    }

    private static int PrintVersion(TextWriter stdout)
    {
        stdout.WriteLine($"shipper version {BuildInfo.Version} (commit {BuildInfo.Commit}), .NET {Environment.Version}, linux/{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}");
        return ExitOk;
    }

    private static int PrintUsage(TextWriter stdout)
    {
        stdout.WriteLine(Usage);
        return ExitOk;
    }

    private static int RunShipper(CliOptions options, IReadOnlyList<string> args, TextWriter stderr, Stream documentStream)
    {
        // A watched worker gets its -E overrides over its link to the watcher, not in argv (they may hold passwords).
        WatcherLink? link;
        try
        {
            link = WorkerWatchdog.IsWorkerProcess ? WatcherLink.FromEnvironment(Environment.GetEnvironmentVariable) : null;
        }
        catch (IOException e)
        {
            stderr.WriteLine($"Exiting: worker cannot start: {e.Message}");
            return ExitRuntimeFailure;
        }

        using var ownedLink = link;
        if (link is not null)
        {
            options.Overrides.AddRange(link.Handover.Overrides);
        }

        var settings = LoadSettings(options);
        var watchdog = settings.Watchdog;
        var progress = new WorkerProgress { InheritedPositions = link?.Handover.Positions ?? "" };
        if (WatcherCommand.ShouldWatch(watchdog, options))
        {
            return WatcherCommand.Run(settings, watchdog, options, args, stderr);
        }

        var worker = ShipperWorker.Build(settings, new WorkerOptions
        {
            LogToStderr = options.LogToStderr,
            DebugSelectors = options.DebugSelectors,
            StrictPerms = options.StrictPerms,
            Stdout = documentStream,
            Stderr = stderr,
            Progress = progress,
        }, BuiltInDatasets.Create());

        using var stop = new CancellationTokenSource();
        int? requestedExit = null;
        using var workerWatchdog = WorkerWatchdog.Start(watchdog, worker.Log.Named("watchdog"), worker.Metrics, code =>
        {
            requestedExit ??= code;
            stop.Cancel();
        }, worker.Pipeline, () => DatasetDiagnostics(worker), link: link, progress: progress);
        void OnStop(PosixSignalContext context)
        {
            context.Cancel = true; // drain instead of dying
            worker.Log.Info($"received {context.Signal}, shutting down");
            workerWatchdog.Stopping();
            stop.Cancel();
        }

        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop);

        try
        {
            workerWatchdog.Ready();
            var exitCode = worker.RunAsync(stop.Token).GetAwaiter().GetResult();
            return requestedExit ?? exitCode;
        }
        catch (Exception e) when (e is not ConfigException)
        {
            worker.Log.Error($"shipper failed: {e}");
            stderr.WriteLine($"Exiting: {e.Message}");
            return ExitRuntimeFailure;
        }
        finally
        {
            worker.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static IEnumerable<string> DatasetDiagnostics(ShipperWorker worker)
    {
        foreach (var dataset in worker.Datasets)
        {
            foreach (var line in dataset.Diagnostics())
            {
                yield return dataset.Name + ": " + line;
            }
        }
    }
}
