using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>
/// An Elasticsearch 8 stand-in on 127.0.0.1 (Kestrel) that speaks the real protocol closely enough to catch
/// wire-format mistakes: <c>GET /</c> with the real body and <c>X-Elastic-Product</c> header, basic and API
/// key authentication with ES's 401 body, composable index templates (validated like ES's mapper parser,
/// equal-priority overlaps refused), data streams (create-only, @timestamp required), and <c>_bulk</c>:
/// NDJSON plain or gzip, the trailing-newline rule with ES's exact error, action-line validation, mapping
/// checks per document, per-item replies in request order honouring <c>filter_path</c>, gzip replies when
/// asked, 413 above <see cref="MaxContentLength"/>. Faults are scripted with <see cref="BulkFaults"/> and
/// <see cref="ItemStatus"/>; hostile replies (endless, gzip bombs, cut off, items missing or extra) are in
/// the HostileReplies part.
/// </summary>
public sealed partial class LoopbackElasticsearch : IAsyncDisposable
{
    public const string BulkNewlineError = "The bulk request must be terminated by a newline [\\n]";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, LoopbackTemplate> _templates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _dataStreams = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _documents = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _ids = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<LoopbackRequest> _requests = new();
    private readonly object _templateGate = new();
    private int _bulkRequests;
    private long _seqNo;
    private long _idCounter;
    private long _storedCount;

    private LoopbackElasticsearch(WebApplication app, bool https)
    {
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)).Port;
        Url = new Uri($"{(https ? "https" : "http")}://127.0.0.1:{Port}");
    }

    public int Port { get; }

    public Uri Url { get; }

    public string VersionNumber { get; set; } = "8.15.0";

    /// <summary>False to play a server that is not Elasticsearch (no X-Elastic-Product header).</summary>
    public bool SendProductHeader { get; set; } = true;

    /// <summary>Basic-auth users; with no users and no API keys, security is off.</summary>
    public ConcurrentDictionary<string, string> Users { get; } = new(StringComparer.Ordinal);

    /// <summary>Valid API keys as <c>id:key</c>.</summary>
    public ConcurrentDictionary<string, byte> ApiKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>http.max_content_length: larger (decompressed) bulk bodies get 413.</summary>
    public long MaxContentLength { get; set; } = 100L * 1024 * 1024;

    /// <summary>Keep document text (tests) or only count it (benchmarks).</summary>
    public bool StoreDocuments { get; set; } = true;

    /// <summary>
    /// False for benchmarks: documents are only checked to be well-formed JSON objects (a streaming read),
    /// without mapping checks, data stream rules or the per-item hook, so the stand-in costs less CPU than
    /// the shipper it measures.
    /// </summary>
    public bool ValidateDocuments { get; set; } = true;

    /// <summary>http.compression: gzip replies when the client accepts them.</summary>
    public bool CompressResponses { get; set; } = true;

    /// <summary>Whole-request faults: given the 1-based bulk request number, a fault or null.</summary>
    public Func<int, BulkFault?>? BulkFaults { get; set; }

    /// <summary>Per-item faults: a status (429, 500, 503…) to answer instead of indexing, or null.</summary>
    public Func<BulkItemInfo, int?>? ItemStatus { get; set; }

    /// <summary>
    /// How long a <c>_bulk</c> request takes after its documents are indexed, as on a loaded cluster. The
    /// documents are stored before the wait, so a client that gives up (or dies) meanwhile has them indexed
    /// without knowing it, which is how a real cluster makes a client send duplicates.
    /// </summary>
    public TimeSpan BulkLatency { get; set; }

    /// <summary>Exceptions the handlers threw (a bug in the loopback server, never expected).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    public int BulkRequestCount => Volatile.Read(ref _bulkRequests);

    public long StoredCount => Interlocked.Read(ref _storedCount);

    public IReadOnlyCollection<LoopbackRequest> Requests => _requests;

    public IReadOnlyDictionary<string, LoopbackTemplate> Templates => _templates;

    public IReadOnlyDictionary<string, string> DataStreams => _dataStreams;

    /// <param name="port">0 for any free port; a fixed one to play a cluster that comes up where a client already looks for it.</param>
    public static async Task<LoopbackElasticsearch> StartAsync(X509Certificate2? certificate = null, int port = 0)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port, listen =>
            {
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
        });
        var app = builder.Build();
        LoopbackElasticsearch? server = null;
        app.Run(context => server!.HandleAsync(context));
        await app.StartAsync();
        server = new LoopbackElasticsearch(app, certificate is not null);
        return server;
    }

    /// <summary>The documents stored in an index or data stream, as the exact JSON text received.</summary>
    public IReadOnlyList<string> Documents(string index) =>
        _documents.TryGetValue(index, out var queue) ? queue.ToArray() : Array.Empty<string>();

    public IReadOnlyCollection<string> IndexNames => _documents.Keys.ToArray();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Path.Value ?? "/";
        var wire = request.ContentLength ?? 0;
        byte[] body = Array.Empty<byte>();
        var status = 0;
        try
        {
            if (SendProductHeader)
            {
                response.Headers["X-elastic-product"] = "Elasticsearch";
            }

            if (!Authenticate(request, out var authError))
            {
                response.Headers["WWW-Authenticate"] = "Basic realm=\"security\" charset=\"UTF-8\", ApiKey";
                status = 401;
                await WriteErrorAsync(context, 401, "security_exception", authError!);
                return;
            }

            var segments = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (segments.Length > 0 && segments[^1] == "_bulk" && request.Method is "POST" or "PUT")
            {
                status = await BulkAsync(context, segments.Length == 2 ? segments[0] : null, b => { body = b; wire = request.ContentLength ?? wire; });
                return;
            }

            body = await ReadAllAsync(request.Body);
            if (request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.Ordinal))
            {
                body = Gunzip(body);
            }

            status = (request.Method, segments) switch
            {
                ("GET", []) => await TryWriteHostileReplyAsync(context, RootFault) ? 200 : await RootAsync(context),
                ("HEAD", []) => 200,
                ("HEAD", ["_index_template", var name]) => _templates.ContainsKey(name) ? 200 : 404,
                ("GET", ["_index_template", var name]) => await GetTemplateAsync(context, name),
                ("PUT" or "POST", ["_index_template", var name]) => await PutTemplateAsync(context, name, body),
                ("DELETE", ["_index_template", var name]) => await DeleteTemplateAsync(context, name),
                ("PUT", ["_data_stream", var name]) => await PutDataStreamAsync(context, name),
                ("GET" or "PUT" or "DELETE", ["_ilm", "policy", var name]) => await IlmPolicyAsync(context, request.Method, name, body),
                _ => await NoHandlerAsync(context, path),
            };
            if (!response.HasStarted)
            {
                response.StatusCode = status;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Errors.Enqueue(e.ToString());
            throw;
        }
        finally
        {
            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in request.Headers)
            {
                headers[key.ToLowerInvariant()] = value.ToString();
            }

            _requests.Enqueue(new LoopbackRequest(request.Method, path, request.QueryString.Value ?? "", headers, wire, body.Length, status == 0 ? response.StatusCode : status));
        }
    }

    private bool Authenticate(HttpRequest request, out string? error)
    {
        error = null;
        if (Users.IsEmpty && ApiKeys.IsEmpty)
        {
            return true;
        }

        var path = request.Path.Value ?? "/";
        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            error = $"missing authentication credentials for REST request [{path}]";
            return false;
        }

        var space = header.IndexOf(' ');
        var scheme = space < 0 ? header : header[..space];
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[(space + 1)..]));
        }
        catch (FormatException)
        {
            error = $"unable to authenticate with provided credentials and anonymous access is not allowed for this request";
            return false;
        }

        if (scheme == "Basic")
        {
            var colon = decoded.IndexOf(':');
            var user = colon < 0 ? decoded : decoded[..colon];
            if (colon > 0 && Users.TryGetValue(user, out var password) && password == decoded[(colon + 1)..])
            {
                return true;
            }

            error = $"unable to authenticate user [{user}] for REST request [{path}]";
            return false;
        }

        if (scheme == "ApiKey" && ApiKeys.ContainsKey(decoded))
        {
            return true;
        }

        error = "unable to authenticate with provided credentials and anonymous access is not allowed for this request";
        return false;
    }

    private async Task<int> RootAsync(HttpContext context)
    {
        var root = new JsonObject
        {
            ["name"] = "loopback-node-1",
            ["cluster_name"] = "loopback",
            ["cluster_uuid"] = "hD7Xl3ZsS3-ZkJ9vyJ7r0Q",
            ["version"] = new JsonObject
            {
                ["number"] = VersionNumber,
                ["build_flavor"] = "default",
                ["build_type"] = "tar",
                ["build_hash"] = "1a77947f34deddb41af25e6f0ddb8e830159c179",
                ["build_date"] = "2024-08-05T10:05:34.233336849Z",
                ["build_snapshot"] = false,
                ["lucene_version"] = "9.11.1",
                ["minimum_wire_compatibility_version"] = "7.17.0",
                ["minimum_index_compatibility_version"] = "7.0.0",
            },
            ["tagline"] = "You Know, for Search",
        };
        await WriteJsonAsync(context, 200, root);
        return 200;
    }

    private async Task<int> GetTemplateAsync(HttpContext context, string name)
    {
        if (!_templates.TryGetValue(name, out var template))
        {
            await WriteErrorAsync(context, 404, "resource_not_found_exception", $"index template matching [{name}] not found");
            return 404;
        }

        var reply = new JsonObject
        {
            ["index_templates"] = new JsonArray(new JsonObject { ["name"] = name, ["index_template"] = template.Body.DeepClone() }),
        };
        await WriteJsonAsync(context, 200, reply);
        return 200;
    }

    private async Task<int> PutTemplateAsync(HttpContext context, string name, byte[] body)
    {
        JsonObject template;
        try
        {
            template = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException e)
        {
            await WriteErrorAsync(context, 400, "x_content_parse_exception", $"[1:1] [index_template] failed to parse: {e.Message}");
            return 400;
        }

        foreach (var (key, _) in template)
        {
            if (key is not ("index_patterns" or "priority" or "composed_of" or "template" or "data_stream" or "version" or "_meta" or "allow_auto_create" or "ignore_missing_component_templates" or "deprecated"))
            {
                await WriteErrorAsync(context, 400, "x_content_parse_exception", $"[1:2] [index_template] unknown field [{key}]");
                return 400;
            }
        }

        if (template["index_patterns"] is not JsonArray patternsNode || patternsNode.Count == 0)
        {
            await WriteErrorAsync(context, 400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;");
            return 400;
        }

        var patterns = patternsNode.Select(p => (string)p!).ToArray();
        var priority = template["priority"] is JsonValue p && p.TryGetValue<long>(out var value) ? value : 0;
        LoopbackMappings mappings;
        try
        {
            var templateSection = template["template"] as JsonObject;
            if (templateSection is not null)
            {
                foreach (var (key, _) in templateSection)
                {
                    if (key is not ("settings" or "mappings" or "aliases" or "lifecycle"))
                    {
                        throw new MappingException($"[1:2] [template] unknown field [{key}]");
                    }
                }
            }

            mappings = LoopbackMappings.Parse(templateSection?["mappings"] as JsonObject);
        }
        catch (MappingException e)
        {
            await WriteErrorAsync(context, 400, "mapper_parsing_exception", e.Message);
            return 400;
        }

        string? conflict = null;
        lock (_templateGate)
        {
            foreach (var (otherName, other) in _templates)
            {
                if (otherName != name && other.Priority == priority && other.Patterns.Any(a => patterns.Any(b => Overlaps(a, b))))
                {
                    conflict = $"index template [{name}] has index patterns [{string.Join(", ", patterns)}] matching patterns from existing templates [{otherName}] with patterns ({otherName} => [{string.Join(", ", other.Patterns)}]) that have the same priority [{priority}], multiple index templates may not match during index creation, please use a different priority";
                    break;
                }
            }

            if (conflict is null)
            {
                _templates[name] = new LoopbackTemplate(name, template, patterns, priority, template.ContainsKey("data_stream"), mappings);
            }
        }

        if (conflict is not null)
        {
            await WriteErrorAsync(context, 400, "illegal_argument_exception", conflict);
            return 400;
        }

        await WriteJsonAsync(context, 200, new JsonObject { ["acknowledged"] = true });
        return 200;
    }

    private async Task<int> DeleteTemplateAsync(HttpContext context, string name)
    {
        if (!_templates.TryRemove(name, out _))
        {
            await WriteErrorAsync(context, 404, "resource_not_found_exception", $"index_template [{name}] missing");
            return 404;
        }

        await WriteJsonAsync(context, 200, new JsonObject { ["acknowledged"] = true });
        return 200;
    }

    private async Task<int> PutDataStreamAsync(HttpContext context, string name)
    {
        var template = MatchingTemplate(name);
        if (template is null || !template.DataStream)
        {
            await WriteErrorAsync(context, 400, "illegal_argument_exception", $"no matching index template found for data stream [{name}]");
            return 400;
        }

        if (!_dataStreams.TryAdd(name, BackingIndex(name)))
        {
            await WriteErrorAsync(context, 400, "resource_already_exists_exception", $"data_stream [{name}] already exists");
            return 400;
        }

        await WriteJsonAsync(context, 200, new JsonObject { ["acknowledged"] = true });
        return 200;
    }

    private async Task<int> NoHandlerAsync(HttpContext context, string path)
    {
        var body = new JsonObject
        {
            ["error"] = $"no handler found for uri [{path}] and method [{context.Request.Method}]",
        };
        await WriteJsonAsync(context, 400, body);
        return 400;
    }

    private async Task<int> BulkAsync(HttpContext context, string? pathIndex, Action<byte[]> recordBody)
    {
        var request = context.Request;
        var number = Interlocked.Increment(ref _bulkRequests);
        var fault = BulkFaults?.Invoke(number);
        if (fault is BulkFault.DropConnection)
        {
            var partial = new byte[1024];
            _ = await request.Body.ReadAsync(partial);
            context.Abort();
            return 0;
        }

        var raw = await ReadAllAsync(request.Body);
        var body = raw;
        if (request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.Ordinal))
        {
            try
            {
                body = Gunzip(raw);
            }
            catch (InvalidDataException e)
            {
                await WriteErrorAsync(context, 400, "illegal_argument_exception", $"cannot decompress the request body: {e.Message}");
                return 400;
            }
        }

        recordBody(body);
        if (fault is BulkFault.Stall)
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return 0;
        }

        if (await TryWriteHostileReplyAsync(context, fault))
        {
            return 200;
        }

        if (fault is BulkFault.Status faultStatus)
        {
            var (type, reason) = faultStatus.Code switch
            {
                429 => ("circuit_breaking_exception", "[parent] Data too large, data for [<http_request>] would be larger than the limit"),
                503 => ("unavailable_shards_exception", "[shipper][0] primary shard is not active Timeout: [1m]"),
                _ => ("exception", "simulated failure"),
            };
            await WriteErrorAsync(context, faultStatus.Code, type, reason);
            return faultStatus.Code;
        }

        if (body.Length > MaxContentLength)
        {
            context.Response.StatusCode = 413;
            context.Response.ContentLength = 0;
            return 413;
        }

        var contentType = request.ContentType ?? "";
        if (!(contentType.StartsWith("application/x-ndjson", StringComparison.Ordinal) || contentType.StartsWith("application/json", StringComparison.Ordinal)
            || contentType.StartsWith("application/vnd.elasticsearch+x-ndjson", StringComparison.Ordinal)))
        {
            await WriteJsonAsync(context, 406, new JsonObject { ["error"] = $"Content-Type header [{contentType}] is not supported", ["status"] = 406 });
            return 406;
        }

        if (body.Length == 0)
        {
            await WriteErrorAsync(context, 400, "parse_exception", "request body is required");
            return 400;
        }

        if (body[^1] != (byte)'\n')
        {
            await WriteErrorAsync(context, 400, "illegal_argument_exception", BulkNewlineError);
            return 400;
        }

        var items = new List<BulkItemReply>();
        var offset = 0;
        var line = 0;
        var position = 0;
        while (offset < body.Length)
        {
            var end = Array.IndexOf(body, (byte)'\n', offset);
            var actionLine = body.AsSpan(offset, end - offset);
            line++;
            offset = end + 1;
            if (actionLine.IsEmpty)
            {
                continue;
            }

            if (!TryParseAction(actionLine, line, out var action, out var meta, out var actionError))
            {
                await WriteErrorAsync(context, 400, "illegal_argument_exception", actionError!);
                return 400;
            }

            var index = meta.Index ?? pathIndex;
            if (index is null)
            {
                await WriteErrorAsync(context, 400, "action_request_validation_exception", $"Validation Failed: 1: index is missing for request {position};");
                return 400;
            }

            if (action == "delete")
            {
                items.Add(new BulkItemReply(action, index, meta.Id ?? "", 404, null, null, "not_found"));
                position++;
                continue;
            }

            if (offset >= body.Length)
            {
                await WriteErrorAsync(context, 400, "illegal_argument_exception", "Validation Failed: 1: no requests added;");
                return 400;
            }

            var docEnd = Array.IndexOf(body, (byte)'\n', offset);
            var documentBytes = body.AsSpan(offset, docEnd - offset);
            line++;
            offset = docEnd + 1;
            items.Add(IndexDocument(number, position, action!, index, meta, documentBytes));
            position++;
        }

        if (BulkLatency > TimeSpan.Zero)
        {
            // Not cancelled by the client going away: the cluster finishes its work either way.
            await Task.Delay(BulkLatency);
        }

        var filter = new FilterPath(request.Query["filter_path"].ToString());
        await WriteBulkReplyAsync(context, items, filter, fault);
        return 200;
    }

    private BulkItemReply IndexDocument(int request, int position, string action, string index, ActionMeta meta, ReadOnlySpan<byte> documentBytes)
    {
        var id = meta.Id ?? NewId();
        if (Validate(index) is { } indexProblem)
        {
            return new BulkItemReply(action, index, id, 400, "invalid_index_name_exception", indexProblem, null);
        }

        if (!ValidateDocuments)
        {
            try
            {
                var reader = new Utf8JsonReader(documentBytes);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return new BulkItemReply(action, index, id, 400, "document_parsing_exception", "[1:1] failed to parse: expected an object", null);
                }

                reader.Skip();
            }
            catch (JsonException e)
            {
                return new BulkItemReply(action, index, id, 400, "document_parsing_exception", $"[1:{e.BytePositionInLine ?? 0}] failed to parse: {e.Message}", null);
            }

            Interlocked.Increment(ref _storedCount);
            return new BulkItemReply(action, index, id, 201, null, null, "created");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(documentBytes.ToArray());
        }
        catch (JsonException e)
        {
            return new BulkItemReply(action, index, id, 400, "document_parsing_exception", $"[1:{e.BytePositionInLine ?? 0}] failed to parse: {e.Message}", null);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return new BulkItemReply(action, index, id, 400, "document_parsing_exception", "[1:1] failed to parse: expected an object", null);
            }

            if (ItemStatus?.Invoke(new BulkItemInfo(request, position, index, document.RootElement)) is { } forced)
            {
                var (type, reason) = forced switch
                {
                    429 => ("es_rejected_execution_exception", "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=1024, max_coordinating_and_primary_bytes=0]"),
                    503 => ("unavailable_shards_exception", $"[{index}][0] primary shard is not active"),
                    409 => ("version_conflict_engine_exception", $"[{id}]: version conflict, document already exists (current version [1])"),
                    400 => ("document_parsing_exception", "[1:2] failed to parse: simulated rejection"),
                    _ => ("exception", "simulated failure"),
                };
                return new BulkItemReply(action, index, id, forced, type, reason, null);
            }

            var template = MatchingTemplate(index);
            var target = index;
            if (_dataStreams.ContainsKey(index) || template is { DataStream: true })
            {
                if (action != "create")
                {
                    return new BulkItemReply(action, index, id, 400, "illegal_argument_exception", $"only write ops with an op_type of create are allowed in data streams", null);
                }

                if (!document.RootElement.TryGetProperty("@timestamp", out _))
                {
                    return new BulkItemReply(action, index, id, 400, "document_parsing_exception", "[1:2] failed to parse: data stream timestamp field [@timestamp] is missing", null);
                }

                target = _dataStreams.GetOrAdd(index, BackingIndex);
            }

            if (template?.Mappings.Check(document.RootElement, id) is { } mappingProblem)
            {
                return new BulkItemReply(action, target, id, 400, "document_parsing_exception", mappingProblem, null);
            }

            if (action == "create" && meta.Id is not null && !_ids.TryAdd(index + "/" + meta.Id, 0))
            {
                return new BulkItemReply(action, target, id, 409, "version_conflict_engine_exception", $"[{id}]: version conflict, document already exists (current version [1])", null);
            }

            Interlocked.Increment(ref _storedCount);
            if (StoreDocuments)
            {
                _documents.GetOrAdd(index, _ => new ConcurrentQueue<string>()).Enqueue(Encoding.UTF8.GetString(documentBytes));
            }

            return new BulkItemReply(action, target, id, 201, null, null, "created");
        }
    }

    private async Task WriteBulkReplyAsync(HttpContext context, List<BulkItemReply> items, FilterPath filter, BulkFault? fault)
    {
        var answered = items;
        if (fault is BulkFault.MissingItems missing)
        {
            answered = items.GetRange(0, Math.Max(0, items.Count - missing.Count));
        }
        else if (fault is BulkFault.ExtraItems extra)
        {
            answered = new List<BulkItemReply>(items);
            for (var i = 0; i < extra.Count; i++)
            {
                answered.Add(new BulkItemReply("create", items[0].Index, NewId(), 201, null, null, "created"));
            }
        }

        var buffer = new ArrayBufferWriter<byte>(64 + (items.Count * 64));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (filter.IncludesFully("took"))
            {
                writer.WriteNumber("took", 3);
            }

            if (filter.IncludesFully("errors"))
            {
                writer.WriteBoolean("errors", answered.Any(i => i.Status >= 300));
            }

            if (filter.MayInclude("items"))
            {
                writer.WriteStartArray("items");
                foreach (var item in answered)
                {
                    WriteItem(writer, item, filter);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        if (fault is BulkFault.TruncatedReply truncated)
        {
            await WriteTruncatedAsync(context, buffer.WrittenMemory, truncated.Chunked);
            return;
        }

        await WriteBytesAsync(context, 200, buffer.WrittenMemory);
    }

    private void WriteItem(Utf8JsonWriter writer, BulkItemReply item, FilterPath filter)
    {
        var prefix = "items." + item.Action + ".";
        bool Has(string field) => filter.IncludesFully(prefix + field);
        writer.WriteStartObject();
        writer.WriteStartObject(item.Action);
        if (Has("_index"))
        {
            writer.WriteString("_index", item.Index);
        }

        if (Has("_id"))
        {
            writer.WriteString("_id", item.Id);
        }

        if (item.Status < 300)
        {
            if (Has("_version"))
            {
                writer.WriteNumber("_version", 1);
            }

            if (Has("result"))
            {
                writer.WriteString("result", item.Result);
            }

            if (filter.MayInclude(prefix + "_shards"))
            {
                writer.WriteStartObject("_shards");
                if (Has("_shards.total"))
                {
                    writer.WriteNumber("total", 2);
                }

                if (Has("_shards.successful"))
                {
                    writer.WriteNumber("successful", 1);
                }

                if (Has("_shards.failed"))
                {
                    writer.WriteNumber("failed", 0);
                }

                writer.WriteEndObject();
            }

            if (Has("_seq_no"))
            {
                writer.WriteNumber("_seq_no", Interlocked.Increment(ref _seqNo));
            }

            if (Has("_primary_term"))
            {
                writer.WriteNumber("_primary_term", 1);
            }
        }

        if (Has("status"))
        {
            writer.WriteNumber("status", item.Status);
        }

        if (item.ErrorType is not null && filter.MayInclude(prefix + "error"))
        {
            writer.WriteStartObject("error");
            if (Has("error.type"))
            {
                writer.WriteString("type", item.ErrorType);
            }

            if (Has("error.reason"))
            {
                writer.WriteString("reason", item.ErrorReason);
            }

            if (Has("error.index"))
            {
                writer.WriteString("index", item.Index);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static bool TryParseAction(ReadOnlySpan<byte> line, int lineNumber, out string? action, out ActionMeta meta, out string? error)
    {
        action = null;
        meta = default;
        error = null;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = $"Malformed action/metadata line [{lineNumber}], expected START_OBJECT or END_OBJECT but found [{TokenName(reader.TokenType)}]";
                return false;
            }

            if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName)
            {
                error = $"Malformed action/metadata line [{lineNumber}], expected FIELD_NAME but found [{TokenName(reader.TokenType)}]";
                return false;
            }

            action = reader.GetString();
            if (action is not ("create" or "index" or "update" or "delete"))
            {
                error = $"Malformed action/metadata line [{lineNumber}], expected field [create], [delete], [index] or [update] but found [{action}]";
                return false;
            }

            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = $"Malformed action/metadata line [{lineNumber}], expected START_OBJECT but found [{TokenName(reader.TokenType)}]";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString();
                reader.Read();
                switch (key)
                {
                    case "_index":
                        meta.Index = reader.GetString();
                        break;
                    case "_id":
                        meta.Id = reader.GetString();
                        break;
                    case "pipeline":
                        meta.Pipeline = reader.GetString();
                        break;
                    case "routing" or "require_alias" or "require_data_stream" or "dynamic_templates" or "if_seq_no" or "if_primary_term" or "version" or "version_type" or "retry_on_conflict" or "_source" or "list_executed_pipelines":
                        reader.Skip();
                        break;
                    default:
                        error = $"Action/metadata line [{lineNumber}] contains an unknown parameter [{key}]";
                        return false;
                }
            }

            if (!reader.Read() || reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = $"Malformed action/metadata line [{lineNumber}], expected END_OBJECT but found [{TokenName(reader.TokenType)}]";
                return false;
            }

            return true;
        }
        catch (JsonException e)
        {
            error = $"Malformed action/metadata line [{lineNumber}]: {e.Message}";
            return false;
        }
    }

    private static string TokenName(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "VALUE_STRING",
        JsonTokenType.Number => "VALUE_NUMBER",
        JsonTokenType.StartArray => "START_ARRAY",
        JsonTokenType.EndObject => "END_OBJECT",
        JsonTokenType.True or JsonTokenType.False => "VALUE_BOOLEAN",
        JsonTokenType.Null => "VALUE_NULL",
        _ => token.ToString().ToUpperInvariant(),
    };

    private LoopbackTemplate? MatchingTemplate(string index)
    {
        LoopbackTemplate? best = null;
        foreach (var template in _templates.Values)
        {
            if (template.Patterns.Any(p => Glob(p, index)) && (best is null || template.Priority > best.Priority))
            {
                best = template;
            }
        }

        return best;
    }

    private static string? Validate(string index)
    {
        if (index.Any(char.IsUpper))
        {
            return $"Invalid index name [{index}], must be lowercase";
        }

        if (index.IndexOfAny(new[] { '\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':' }) >= 0)
        {
            return $"Invalid index name [{index}], must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]";
        }

        if (index.Length == 0 || index[0] is '_' or '-' or '+')
        {
            return $"Invalid index name [{index}], must not start with '_', '-', or '+'";
        }

        return null;
    }

    private static string BackingIndex(string dataStream) => $".ds-{dataStream}-{DateTime.UtcNow:yyyy.MM.dd}-000001";

    private string NewId()
    {
        var n = Interlocked.Increment(ref _idCounter);
        Span<byte> bytes = stackalloc byte[15];
        BitConverter.TryWriteBytes(bytes, n);
        return Convert.ToBase64String(bytes).Replace('/', '_').Replace('+', '-');
    }

    private static bool Glob(string pattern, string value)
    {
        var star = pattern.IndexOf('*');
        if (star < 0)
        {
            return pattern == value;
        }

        var prefix = pattern[..star];
        var rest = pattern[(star + 1)..];
        if (!value.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        if (rest.Length == 0)
        {
            return true;
        }

        for (var i = prefix.Length; i <= value.Length; i++)
        {
            if (Glob(rest, value[i..]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Overlaps(string a, string b) => Glob(a, b.Replace("*", "", StringComparison.Ordinal)) || Glob(b, a.Replace("*", "", StringComparison.Ordinal));

    private async Task WriteErrorAsync(HttpContext context, int status, string type, string reason)
    {
        var cause = new JsonObject { ["type"] = type, ["reason"] = reason };
        var error = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["root_cause"] = new JsonArray(cause),
                ["type"] = type,
                ["reason"] = reason,
            },
            ["status"] = status,
        };
        await WriteJsonAsync(context, status, error);
    }

    private Task WriteJsonAsync(HttpContext context, int status, JsonNode body) =>
        WriteBytesAsync(context, status, Encoding.UTF8.GetBytes(body.ToJsonString()));

    private async Task WriteBytesAsync(HttpContext context, int status, ReadOnlyMemory<byte> body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        if (context.Request.Method == "HEAD")
        {
            return;
        }

        if (CompressResponses && context.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.Ordinal))
        {
            using var compressed = new MemoryStream();
            using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(body.Span);
            }

            response.Headers.ContentEncoding = "gzip";
            response.ContentLength = compressed.Length;
            await response.Body.WriteAsync(compressed.GetBuffer().AsMemory(0, (int)compressed.Length));
            return;
        }

        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body);
    }

    private static async Task<byte[]> ReadAllAsync(Stream body)
    {
        using var memory = new MemoryStream();
        await body.CopyToAsync(memory);
        return memory.ToArray();
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    private struct ActionMeta
    {
        public string? Index;
        public string? Id;
        public string? Pipeline;
    }

    private sealed record BulkItemReply(string Action, string Index, string Id, int Status, string? ErrorType, string? ErrorReason, string? Result);
}
