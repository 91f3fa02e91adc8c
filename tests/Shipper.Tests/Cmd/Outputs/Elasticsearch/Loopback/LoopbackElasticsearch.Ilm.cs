using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>
/// The <c>_ilm/policy</c> API as Elasticsearch 8 answers it: GET 200 with
/// <c>{"&lt;name&gt;":{"version","modified_date","policy","in_use_by"}}</c> or 404
/// <c>resource_not_found_exception</c>; PUT parses the body as ES does (<c>{"policy":{"phases":{…}}}</c>,
/// unknown fields <c>x_content_parse_exception</c>, a phase the timeseries lifecycle lacks or an action a
/// phase does not allow <c>illegal_argument_exception</c>, rollover without a max_* condition refused) and
/// answers <c>{"acknowledged":true}</c>; DELETE. As in ES, a template may name a policy that does not exist
/// (the indices then report an ILM error, not the template). <see cref="IlmFaults"/> scripts 5xx answers.
/// </summary>
public sealed partial class LoopbackElasticsearch
{
    // ES 8's TimeseriesLifecycleType: the phases in order, and the actions each allows.
    private static readonly Dictionary<string, string[]> IlmActionsByPhase = new(StringComparer.Ordinal)
    {
        ["hot"] = ["set_priority", "unfollow", "rollover", "readonly", "downsample", "shrink", "forcemerge", "searchable_snapshot"],
        ["warm"] = ["set_priority", "unfollow", "readonly", "downsample", "allocate", "migrate", "shrink", "forcemerge"],
        ["cold"] = ["set_priority", "unfollow", "readonly", "downsample", "searchable_snapshot", "allocate", "migrate", "freeze"],
        ["frozen"] = ["unfollow", "searchable_snapshot"],
        ["delete"] = ["wait_for_snapshot", "delete"],
    };

    private static readonly string[] RolloverConditions =
        ["max_age", "max_docs", "max_size", "max_primary_shard_size", "max_primary_shard_docs", "min_age", "min_docs", "min_size", "min_primary_shard_size", "min_primary_shard_docs"];

    private readonly ConcurrentDictionary<string, LoopbackIlmPolicy> _ilmPolicies = new(StringComparer.Ordinal);
    private int _ilmRequests;

    /// <summary>Faults for <c>_ilm/policy</c> requests: given the 1-based ILM request number, a 5xx status to answer instead, or null.</summary>
    public Func<int, int?>? IlmFaults { get; set; }

    public IReadOnlyDictionary<string, LoopbackIlmPolicy> IlmPolicies => _ilmPolicies;

    private async Task<int> IlmPolicyAsync(HttpContext context, string method, string name, byte[] body)
    {
        var number = Interlocked.Increment(ref _ilmRequests);
        if (IlmFaults?.Invoke(number) is { } fault)
        {
            var (type, reason) = fault == 503
                ? ("master_not_discovered_exception", "no master node is known to the cluster")
                : ("exception", "simulated failure");
            await WriteErrorAsync(context, fault, type, reason);
            return fault;
        }

        return method switch
        {
            "GET" => await GetIlmPolicyAsync(context, name),
            "PUT" => await PutIlmPolicyAsync(context, name, body),
            "DELETE" => await DeleteIlmPolicyAsync(context, name),
            _ => await NoHandlerAsync(context, context.Request.Path.Value ?? ""),
        };
    }

    private async Task<int> GetIlmPolicyAsync(HttpContext context, string name)
    {
        if (!_ilmPolicies.TryGetValue(name, out var policy))
        {
            await WriteErrorAsync(context, 404, "resource_not_found_exception", $"Lifecycle policy not found: [{name}]");
            return 404;
        }

        var usedBy = new JsonArray();
        foreach (var template in _templates.Values)
        {
            if (LifecycleName(template.Body) == name)
            {
                usedBy.Add((JsonNode)JsonValue.Create(template.Name));
            }
        }

        var reply = new JsonObject
        {
            [name] = new JsonObject
            {
                ["version"] = policy.Version,
                ["modified_date"] = policy.Modified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["policy"] = policy.Policy.DeepClone(),
                ["in_use_by"] = new JsonObject
                {
                    ["indices"] = new JsonArray(),
                    ["data_streams"] = new JsonArray(),
                    ["composable_templates"] = usedBy,
                },
            },
        };
        await WriteJsonAsync(context, 200, reply);
        return 200;
    }

    private async Task<int> PutIlmPolicyAsync(HttpContext context, string name, byte[] body)
    {
        if (IlmNameProblem(name) is { } nameProblem)
        {
            await WriteErrorAsync(context, 400, "illegal_argument_exception", $"invalid policy name [{name}]: {nameProblem}");
            return 400;
        }

        JsonObject policy;
        try
        {
            policy = ParseIlmPolicy(body);
        }
        catch (IlmPolicyException e)
        {
            await WriteErrorAsync(context, 400, e.Type, e.Message);
            return 400;
        }

        _ilmPolicies.AddOrUpdate(
            name,
            _ => new LoopbackIlmPolicy(name, policy, 1, DateTimeOffset.UtcNow),
            (_, old) => new LoopbackIlmPolicy(name, policy, old.Version + 1, DateTimeOffset.UtcNow));
        await WriteJsonAsync(context, 200, new JsonObject { ["acknowledged"] = true });
        return 200;
    }

    private async Task<int> DeleteIlmPolicyAsync(HttpContext context, string name)
    {
        if (!_ilmPolicies.TryRemove(name, out _))
        {
            await WriteErrorAsync(context, 404, "resource_not_found_exception", $"Lifecycle policy not found: {name}");
            return 404;
        }

        await WriteJsonAsync(context, 200, new JsonObject { ["acknowledged"] = true });
        return 200;
    }

    /// <summary>The policy object of a PUT body, checked as ES's parsers and the timeseries lifecycle type check it; min_age defaults to 0ms as ES stores it.</summary>
    private static JsonObject ParseIlmPolicy(byte[] body)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(body) as JsonObject ?? throw new IlmPolicyException("x_content_parse_exception", "[1:1] [put_lifecycle_request] Expected START_OBJECT");
        }
        catch (JsonException e)
        {
            throw new IlmPolicyException("x_content_parse_exception", $"[1:1] [put_lifecycle_request] failed to parse: {e.Message}");
        }

        foreach (var (key, _) in root)
        {
            if (key != "policy")
            {
                throw new IlmPolicyException("x_content_parse_exception", $"[1:2] [put_lifecycle_request] unknown field [{key}]");
            }
        }

        if (root["policy"] is not JsonObject policy)
        {
            throw new IlmPolicyException("x_content_parse_exception", "[1:2] Required [policy]");
        }

        foreach (var (key, _) in policy)
        {
            if (key is not ("phases" or "_meta" or "deprecated"))
            {
                throw new IlmPolicyException("x_content_parse_exception", $"[1:12] [lifecycle_policy] unknown field [{key}]");
            }
        }

        if (policy["phases"] is not JsonObject phases)
        {
            throw new IlmPolicyException("x_content_parse_exception", "[1:12] Required [phases]");
        }

        foreach (var (phaseName, phaseNode) in phases)
        {
            if (phaseNode is not JsonObject phase)
            {
                throw new IlmPolicyException("x_content_parse_exception", $"[1:24] [lifecycle_policy] failed to parse field [phases]");
            }

            foreach (var (key, _) in phase)
            {
                if (key is not ("min_age" or "actions"))
                {
                    throw new IlmPolicyException("x_content_parse_exception", $"[1:30] [phase] unknown field [{key}]");
                }
            }

            if (!IlmActionsByPhase.TryGetValue(phaseName, out var allowed))
            {
                throw new IlmPolicyException("illegal_argument_exception", $"Timeseries lifecycle does not support phase [{phaseName}]");
            }

            phase["min_age"] ??= "0ms";
            var actions = phase["actions"] as JsonObject ?? new JsonObject();
            foreach (var (actionName, actionNode) in actions)
            {
                if (!IlmActionsByPhase.Values.Any(a => a.Contains(actionName)))
                {
                    throw new IlmPolicyException("x_content_parse_exception", $"[1:40] [phase] failed to parse field [actions]: unknown lifecycle action [{actionName}]");
                }

                if (!allowed.Contains(actionName))
                {
                    throw new IlmPolicyException("illegal_argument_exception", $"invalid action [{actionName}] defined in phase [{phaseName}]");
                }

                if (actionName == "rollover")
                {
                    CheckRollover(actionNode);
                }
            }
        }

        return policy;
    }

    private static void CheckRollover(JsonNode? action)
    {
        if (action is not JsonObject rollover)
        {
            throw new IlmPolicyException("x_content_parse_exception", "[1:50] [rollover] failed to parse");
        }

        var anyMax = false;
        foreach (var (key, _) in rollover)
        {
            if (!RolloverConditions.Contains(key))
            {
                throw new IlmPolicyException("x_content_parse_exception", $"[1:50] [rollover] unknown field [{key}]");
            }

            anyMax |= key.StartsWith("max_", StringComparison.Ordinal);
        }

        if (!anyMax)
        {
            throw new IlmPolicyException("illegal_argument_exception", "At least one max_* rollover condition must be set.");
        }
    }

    private static string? IlmNameProblem(string name) => name switch
    {
        _ when name.Contains(',', StringComparison.Ordinal) => "must not contain ','",
        _ when name.Contains(' ', StringComparison.Ordinal) => "must not contain a space",
        _ when name.StartsWith('_') => "must not start with '_'",
        _ when Encoding.UTF8.GetByteCount(name) > 255 => "policy name is too long (more than 255 bytes)",
        _ => null,
    };

    /// <summary>The template's <c>index.lifecycle.name</c>, nested or dotted, as ES reads settings.</summary>
    private static string? LifecycleName(JsonObject templateBody)
    {
        if (templateBody["template"]?["settings"] is not JsonObject settings)
        {
            return null;
        }

        return (settings["index"]?["lifecycle"]?["name"]
            ?? settings["index.lifecycle.name"]
            ?? settings["index"]?["lifecycle.name"])?.GetValue<string>();
    }

    /// <summary>The lifecycle policy name the stored template <paramref name="template"/> gives its indices, or null.</summary>
    public string? TemplateLifecycleName(string template) =>
        _templates.TryGetValue(template, out var stored) ? LifecycleName(stored.Body) : null;

    private sealed class IlmPolicyException(string type, string message) : Exception(message)
    {
        public string Type { get; } = type;
    }
}
