using System.Security.Authentication;
using Shipper.Events;
using Shipper.Module.Logging;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.IndexManagement;

/// <summary>
/// <c>shipper setup --index-management</c>: installs the ILM policy (as <c>setup.ilm.*</c> says), loads the
/// index template (honouring <c>setup.template.overwrite</c>; loaded even when <c>setup.template.enabled</c>
/// is false, because the command asks for it) and, when the index is a single data stream, creates it.
/// Tries the hosts in order until one works. Returns the exit code.
/// </summary>
public static class IndexSetup
{
    public static async Task<int> RunAsync(
        ElasticsearchSettings output,
        TemplateSettings template,
        TextWriter console,
        Logger log,
        IlmSettings? ilm = null,
        CancellationToken cancellationToken = default)
    {
        IndexSetupOnConnect setup;
        try
        {
            setup = new IndexSetupOnConnect(template, ilm ?? IlmSettings.Disabled, log, loadTemplate: true);
        }
        catch (FormatException e)
        {
            console.WriteLine($"Cannot build the index template: {e.Message}");
            return 1;
        }

        var builder = setup.Template!;

        using var transport = new ElasticsearchTransport(output, null, TimeProvider.System);
        var errors = new List<string>();
        foreach (var host in output.Hosts)
        {
            try
            {
                var info = await ClusterHandshake.ConnectAsync(transport, host, cancellationToken).ConfigureAwait(false);
                log.Info($"connected to Elasticsearch {info.VersionNumber} at {host}");
                var outcome = await setup.EnsureAsync(transport, host, cancellationToken).ConfigureAwait(false);
                if (setup.Policy is { } policy)
                {
                    console.WriteLine(outcome.Policy switch
                    {
                        IlmPolicyLoadResult.Created => $"ILM policy '{policy.Name}' loaded.",
                        IlmPolicyLoadResult.AlreadyExists => $"ILM policy '{policy.Name}' already exists and was kept (set setup.ilm.overwrite: true to replace it).",
                        _ => $"ILM policy '{policy.Name}' not checked or loaded (setup.ilm.check_exists: false).",
                    });
                }

                console.WriteLine(outcome.Template == TemplateLoadResult.Loaded
                    ? $"Index template '{builder.Name}' loaded (pattern '{builder.Pattern}')."
                    : $"Index template '{builder.Name}' already exists and was kept (set setup.template.overwrite: true to replace it).");

                if (template.DataStream && ConstantIndex(output) is { } dataStream)
                {
                    await CreateDataStreamAsync(transport, host, dataStream, console, cancellationToken).ConfigureAwait(false);
                }

                console.WriteLine("Index setup finished.");
                return 0;
            }
            catch (ConnectFailure failure)
            {
                errors.Add(failure.Message);
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException or TimeoutException or AuthenticationException)
            {
                errors.Add($"{host}: {transport.DescribeFailure(e)}");
            }
        }

        console.WriteLine("Index setup failed:");
        foreach (var error in errors)
        {
            console.WriteLine("  " + error);
        }

        return 1;
    }

    /// <summary>The index name when it does not depend on the event (the default <c>shipper-&lt;version&gt;</c>), else null.</summary>
    private static string? ConstantIndex(ElasticsearchSettings output)
    {
        var formatter = new EventFormatter(output.Index, path => path switch
        {
            "agent.version" or "@metadata.version" => BuildInfo.Version,
            "agent.type" or "@metadata.beat" => AgentInfo.Type,
            _ => null,
        }, lowercase: true);
        return formatter.Constant is { } name && IndexNames.Check(name) is null ? name : null;
    }

    private static async Task CreateDataStreamAsync(ElasticsearchTransport transport, ElasticsearchHost host, string name, TextWriter console, CancellationToken cancellationToken)
    {
        using var request = transport.CreateRequest(HttpMethod.Put, host.Api("_data_stream/" + Uri.EscapeDataString(name)));
        using var reply = await transport.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (reply.IsSuccess)
        {
            console.WriteLine($"Data stream '{name}' created.");
        }
        else if (reply.Status == 400 && reply.ErrorSummary().Contains("resource_already_exists_exception", StringComparison.Ordinal))
        {
            console.WriteLine($"Data stream '{name}' already exists.");
        }
        else
        {
            throw new InvalidOperationException($"Elasticsearch at {host} refused to create data stream '{name}': HTTP {reply.Status} {reply.ErrorSummary()}");
        }
    }
}
