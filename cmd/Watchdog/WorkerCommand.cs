namespace Shipper.Watchdog;

/// <summary>
/// The command line that starts a worker: normally this very binary with the same arguments, except the
/// <c>-E</c> overrides, which go to the worker over its link (<see cref="WorkerHandover"/>) and never into its argv.
/// </summary>
public sealed record WorkerCommand(string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>The <c>-E key=value</c> overrides, in order; never printed (they may hold passwords).</summary>
    public IReadOnlyList<string> Overrides { get; init; } = Array.Empty<string>();

    /// <summary>
    /// This process again. Under the native or apphost binary that is just <see cref="Environment.ProcessPath"/>;
    /// under <c>dotnet shipper.dll</c> the process is the dotnet host, so the entry assembly's path goes first.
    /// </summary>
    public static WorkerCommand ForThisProcess(IReadOnlyList<string> arguments, IReadOnlyList<string>? overrides = null) =>
        ForThisProcessWith(arguments) with { Overrides = overrides ?? Array.Empty<string>() };

    private static WorkerCommand ForThisProcessWith(IReadOnlyList<string> arguments)
    {
        var processPath = Environment.ProcessPath
            ?? throw new InvalidOperationException("cannot find this process's executable to start the worker (Environment.ProcessPath is unknown)");
        if (!IsDotnetHost(processPath))
        {
            return new WorkerCommand(processPath, arguments.ToArray());
        }

        var all = new List<string>(arguments.Count + 1) { EntryAssemblyPath() };
        all.AddRange(arguments);
        return new WorkerCommand(processPath, all);
    }

    public static bool IsDotnetHost(string processPath) =>
        Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase);

    private static string EntryAssemblyPath()
    {
        // Under the dotnet host argv[0] as .NET reports it is the managed entry assembly.
        var first = Environment.GetCommandLineArgs()[0];
        if (first.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && File.Exists(first))
        {
            return Path.GetFullPath(first);
        }

        var name = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "shipper";
        var candidate = Path.Combine(AppContext.BaseDirectory, name + ".dll");
        return File.Exists(candidate)
            ? candidate
            : throw new InvalidOperationException($"running under the dotnet host but cannot find the entry assembly to start the worker (tried {first} and {candidate})");
    }

    public override string ToString() => Arguments.Count == 0 ? FileName : FileName + " " + string.Join(' ', Arguments);
}
