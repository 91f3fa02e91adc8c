using System.Diagnostics;
using System.Text.Json;
using Shipper.Tests.Cmd.Watchdog;
using Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Shipper.Tests.Cmd.Logging;

/// <summary>
/// <c>shipper run -E output.elasticsearch.password=…</c> as built: the password must reach no log line (the
/// watcher's, the worker's) and none of the shipper's own process documents, while another process that
/// happens to carry the same arguments is reported exactly.
/// </summary>
public sealed class SecretRedactionEndToEndTests : IDisposable
{
    private const int SIGTERM = 15;
    private const string Secret = "S3cretPassw0rd-4e1f";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _output;
    private readonly TempConfig _config;

    public SecretRedactionEndToEndTests(ITestOutputHelper output)
    {
        _output = output;
        _config = new TempConfig(TempConfig.ProcessesToConsole);
    }

    public void Dispose() => _config.Dispose();

    [KernelFact]
    public void APasswordGivenWithDashEIsInNoLogLineAndNoDocumentOfTheShipperButAnotherProcessKeepsItsArgs()
    {
        // Started first, so it is in the shipper's existing_process snapshot; "; true" keeps sh from exec'ing sleep.
        var otherArgs = new[] { "/bin/sh", "-c", "sleep 60; true", "other", "-E", $"output.elasticsearch.password={Secret}" };
        var other = new ProcessStartInfo(otherArgs[0]);
        foreach (var arg in otherArgs[1..])
        {
            other.ArgumentList.Add(arg);
        }

        using var unrelated = Process.Start(other)!;
        try
        {
            using var shipper = ShipperProcess.Start(_config.Path, _config.Directory, _output, extraArgs: new[]
            {
                "-d", "*",
                "-E", "output.elasticsearch.enabled=false",
                "-E", $"output.elasticsearch.password={Secret}",
            });
            var worker = shipper.WaitForWorker(0, Patience);
            var watcherDocument = shipper.Documents.WaitFor(line => PidOf(line) == shipper.Pid, "the watcher's existing_process document", Patience);
            var workerDocument = shipper.Documents.WaitFor(line => PidOf(line) == worker, "the worker's existing_process document", Patience);
            var unrelatedDocument = shipper.Documents.WaitFor(line => PidOf(line) == unrelated.Id, "the unrelated process's document", Patience);

            shipper.Signal(SIGTERM);
            Assert.True(shipper.WaitForExit(Patience), "the shipper did not exit after SIGTERM");

            Assert.NotEmpty(shipper.Log.Lines);
            Assert.DoesNotContain(shipper.Log.Lines, line => line.Contains(Secret, StringComparison.Ordinal));

            // The watcher's own command line, as export config shows the setting.
            Assert.Contains("output.elasticsearch.password=[redacted]", Args(watcherDocument, "process"));
            Assert.DoesNotContain(Secret, watcherDocument);
            Assert.Equal(Args(watcherDocument, "process"), Args(workerDocument, "process", "parent"));
            Assert.DoesNotContain(Secret, workerDocument);

            Assert.Equal(otherArgs, Args(unrelatedDocument, "process"));

            // Only the unrelated process (and a child's copy of its parent's args) may show it.
            foreach (var line in shipper.Documents.Lines)
            {
                if (line.Contains(Secret, StringComparison.Ordinal))
                {
                    Assert.True(PidOf(line) == unrelated.Id || ParentPidOf(line) == unrelated.Id, $"a document of another process holds the secret: {line}");
                }
            }
        }
        finally
        {
            unrelated.Kill(entireProcessTree: true);
        }
    }

    private static int PidOf(string document) => ProcessField(document, p => p.GetProperty("pid").GetInt32());

    private static int ParentPidOf(string document) =>
        ProcessField(document, p => p.TryGetProperty("parent", out var parent) ? parent.GetProperty("pid").GetInt32() : -1);

    private static int ProcessField(string document, Func<JsonElement, int> read)
    {
        using var parsed = JsonDocument.Parse(document);
        return parsed.RootElement.TryGetProperty("process", out var process) ? read(process) : -1;
    }

    private static string[] Args(string document, params string[] path)
    {
        using var parsed = JsonDocument.Parse(document);
        var element = parsed.RootElement;
        foreach (var name in path)
        {
            element = element.GetProperty(name);
        }

        var args = new List<string>();
        foreach (var arg in element.GetProperty("args").EnumerateArray())
        {
            args.Add(arg.GetString()!);
        }

        return args.ToArray();
    }
}
