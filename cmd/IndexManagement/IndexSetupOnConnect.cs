using Shipper.Module.Config;
using Shipper.Module.Logging;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.IndexManagement;

/// <summary>
/// What the Elasticsearch output makes sure of on every (re)connection to a host, before any document is
/// sent, in libbeat's order: the ILM policy (<c>setup.ilm.*</c>), then the index template
/// (<c>setup.template.*</c>) that names it in <c>index.lifecycle.name</c>. A policy that had to be created
/// forces the template to be written again, so an older template without the link is replaced. Checks
/// (GET / HEAD) happen on every reconnection, so a cluster that lost either gets it back; with
/// <c>overwrite</c> the PUT happens once per run. Failures throw and leave the state as it was, so the
/// next connection attempt starts over. One call at a time (a gate), so two hosts connecting at once do
/// not both put.
/// </summary>
public sealed class IndexSetupOnConnect
{
    private readonly TemplateSettings _templateSettings;
    private readonly IlmSettings _ilm;
    private readonly Logger _log;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _policyLoaded;
    private bool _templateLoaded;
    private bool _templateRewriteNeeded;

    /// <param name="loadTemplate">Null: as <c>setup.template.enabled</c> says; true for <c>setup --index-management</c>, which loads it anyway.</param>
    public IndexSetupOnConnect(TemplateSettings template, IlmSettings ilm, Logger log, string? version = null, bool? loadTemplate = null)
    {
        _templateSettings = template;
        _ilm = ilm;
        _log = log;
        Policy = ilm.Enabled ? new IlmPolicy(ilm, version) : null;
        var linked = Policy is not null ? template.WithLifecycleName(Policy.Name) : template;
        Template = (loadTemplate ?? template.Enabled) ? new IndexTemplateBuilder(linked, version) : null;
        if (Policy is not null && Template is not null)
        {
            if (template.SetsLifecycleName)
            {
                log.Info($"index template '{Template.Name}' keeps the index.lifecycle.name set in setup.template.settings.index; ILM policy '{Policy.Name}' is installed but this template does not name it");
            }
            else if (Policy.HasRollover && !template.DataStream)
            {
                // Without a data stream the rollover action has no alias to roll, and every index reports an ILM error.
                throw new ConfigException("setup.ilm.enabled", SourceLocation.None,
                    $"ILM policy '{Policy.Name}' rolls over, which needs a data stream: keep setup.template.data_stream: true, set setup.ilm.enabled: false, or use a setup.ilm.policy_file without rollover");
            }
            else
            {
                log.Info($"index template '{Template.Name}' sets index.lifecycle.name to '{Policy.Name}' as ILM is enabled");
            }
        }

        if (Policy is not null && !ilm.CheckExists)
        {
            log.Info($"setup.ilm.check_exists is false: ILM policy '{Policy.Name}' is neither checked nor installed; it must exist for the indices to be managed");
        }
    }

    /// <summary>The policy to install, or null with ILM off.</summary>
    public IlmPolicy? Policy { get; }

    /// <summary>The template to load (linked to <see cref="Policy"/>), or null when template loading is off.</summary>
    public IndexTemplateBuilder? Template { get; }

    /// <summary>
    /// Installs the policy and loads the template at <paramref name="host"/> as the settings say. Throws
    /// <see cref="InvalidOperationException"/> when the cluster refuses, and the transport's exceptions when
    /// it cannot be reached.
    /// </summary>
    public async Task<IndexSetupOutcome> EnsureAsync(ElasticsearchTransport transport, ElasticsearchHost host, CancellationToken cancellationToken)
    {
        if (Template is null && (Policy is null || !_ilm.CheckExists))
        {
            return default;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            IlmPolicyLoadResult? policyResult = null;
            if (Policy is not null && _ilm.CheckExists && !(_ilm.Overwrite && _policyLoaded))
            {
                policyResult = await IlmPolicyLoader.LoadAsync(transport, host, Policy, _ilm.Overwrite, _log, cancellationToken).ConfigureAwait(false);
                if (policyResult == IlmPolicyLoadResult.Created)
                {
                    _templateRewriteNeeded = Template is not null;
                }
                else if (!_policyLoaded)
                {
                    _log.Info($"ILM policy '{Policy.Name}' already exists at {host}; kept as it is (setup.ilm.overwrite: false)");
                }

                _policyLoaded = true;
            }

            TemplateLoadResult? templateResult = null;
            if (Template is not null && (_templateRewriteNeeded || !(_templateSettings.Overwrite && _templateLoaded)))
            {
                templateResult = await TemplateLoader.LoadAsync(transport, host, Template, _templateSettings.Overwrite || _templateRewriteNeeded, _log, cancellationToken).ConfigureAwait(false);
                if (templateResult == TemplateLoadResult.AlreadyExists && !_templateLoaded)
                {
                    _log.Info($"index template '{Template.Name}' already exists at {host}; kept as it is (setup.template.overwrite: false)");
                }

                _templateLoaded = true;
                _templateRewriteNeeded = false;
            }

            return new IndexSetupOutcome(policyResult, templateResult);
        }
        finally
        {
            _gate.Release();
        }
    }
}
