using System.Buffers;
using System.Text.Json;
using Shipper.Events;
using Shipper.Outputs.Elasticsearch;

namespace Shipper.IndexManagement;

/// <summary>
/// Generates the composable index template from fields.yml the way libbeat's template processor does:
/// groups and dotted names become nested <c>properties</c>, keyword fields get <c>ignore_above: 1024</c>
/// unless set, multi_fields become <c>fields</c>, <c>object_type</c> becomes a dynamic template, the
/// keyword/text fields are the <c>index.query.default_field</c>, plus <c>data_stream: {}</c> and
/// <c>priority</c>. <c>shipper export template</c> prints <see cref="ToJson"/>.
/// </summary>
public sealed class IndexTemplateBuilder
{
    public const string BeatName = "shipper";
    private const int DefaultIgnoreAbove = 1024;
    private const int DefaultScalingFactor = 1000;
    private const int TotalFieldsLimit = 10000;
    private const int MaxDocvalueFieldsSearch = 200;

    private readonly TemplateSettings _settings;
    private readonly IReadOnlyList<FieldDefinition> _fields;
    private readonly string _version;

    public IndexTemplateBuilder(TemplateSettings settings, string? version = null, IReadOnlyList<FieldDefinition>? fields = null)
    {
        _settings = settings;
        _version = version ?? BuildInfo.Version;
        _fields = fields ?? FieldsYml.Embedded();
        Name = ResolveName(settings.Name ?? TemplateSettings.DefaultName, "setup.template.name");
        Pattern = settings.Pattern is null ? Name + "*" : ResolveName(settings.Pattern, "setup.template.pattern");
    }

    /// <summary>The template's name, e.g. <c>shipper-0.1.0</c>.</summary>
    public string Name { get; }

    /// <summary>The index pattern it applies to, e.g. <c>shipper-0.1.0*</c>.</summary>
    public string Pattern { get; }

    public JsonObjectTree Build()
    {
        var state = new BuildState();
        var properties = new JsonObjectTree();
        Process(_fields, "", true, properties, state);

        var dynamicTemplates = new List<object?>(state.DynamicTemplates);
        var stringsAsKeyword = new JsonObjectTree();
        var keywordMapping = new JsonObjectTree();
        keywordMapping.Set("ignore_above", DefaultIgnoreAbove);
        keywordMapping.Set("type", "keyword");
        stringsAsKeyword.Object("strings_as_keyword").Set("mapping", keywordMapping);
        stringsAsKeyword.Object("strings_as_keyword").Set("match_mapping_type", "string");
        dynamicTemplates.Add(stringsAsKeyword);

        var meta = new JsonObjectTree();
        meta.Set("beat", BeatName);
        meta.Set("version", _version);

        var mappings = new JsonObjectTree();
        mappings.Set("_meta", meta);
        mappings.Set("date_detection", false);
        mappings.Set("dynamic_templates", dynamicTemplates);
        mappings.Set("properties", properties);
        if (_settings.Source.Count > 0)
        {
            mappings.Set("_source", _settings.Source);
        }

        var index = new JsonObjectTree();
        index.Set("refresh_interval", "5s");
        index.SetPath("mapping.total_fields.limit", TotalFieldsLimit);
        var defaultFields = new List<object?>(state.DefaultFields) { "fields.*" };
        index.SetPath("query.default_field", defaultFields);
        index.Set("max_docvalue_fields_search", MaxDocvalueFieldsSearch);
        index.DeepMerge(_settings.IndexSettings);

        var settings = new JsonObjectTree();
        settings.Set("index", index);

        var template = new JsonObjectTree();
        template.Set("settings", settings);
        template.Set("mappings", mappings);

        var root = new JsonObjectTree();
        root.Set("index_patterns", new List<object?> { Pattern });
        if (_settings.DataStream)
        {
            root.Set("data_stream", new JsonObjectTree());
        }

        root.Set("priority", _settings.Priority);
        root.Set("template", template);
        return root;
    }

    /// <summary>The template as the body of <c>PUT _index_template/&lt;name&gt;</c>.</summary>
    public byte[] ToJson(bool indented = false)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            Build().WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the indented template to <paramref name="output"/> (for <c>shipper export template</c>).</summary>
    public void Export(TextWriter output)
    {
        output.Write(global::System.Text.Encoding.UTF8.GetString(ToJson(indented: true)));
        output.WriteLine();
    }

    private string ResolveName(string text, string setting)
    {
        try
        {
            return SetupNameFormat.Resolve(text, _version, "template");
        }
        catch (FormatException e)
        {
            throw new FormatException($"{setting}: {e.Message}", e);
        }
    }

    private void Process(IReadOnlyList<FieldDefinition> fields, string path, bool defaultField, JsonObjectTree output, BuildState state)
    {
        foreach (var field in fields)
        {
            var fullName = path.Length == 0 ? field.Name : path + "." + field.Name;
            var fieldDefault = field.DefaultField ?? defaultField;
            JsonObjectTree? mapping;
            switch (field.Type)
            {
                case "group":
                {
                    // Groups defined more than once (or reached through dotted names) merge into one object.
                    var group = ObjectAtPath(output, field.Name);
                    if (field.Dynamic is not null)
                    {
                        group.Set("dynamic", DynamicValue(field.Dynamic));
                    }

                    Process(field.Fields, fullName, fieldDefault, group.Object("properties"), state);
                    mapping = null;
                    break;
                }

                case "nested":
                {
                    mapping = CommonProperties(field);
                    mapping.Set("type", "nested");
                    var properties = new JsonObjectTree();
                    Process(field.Fields, fullName, fieldDefault, properties, state);
                    if (properties.Count > 0)
                    {
                        mapping.Set("properties", properties);
                    }

                    break;
                }

                case "object":
                    mapping = ObjectMapping(field, path, state);
                    break;
                default:
                    mapping = LeafMapping(field, state);
                    break;
            }

            if (fieldDefault && field.Type is "" or "keyword" or "text" or "match_only_text" or "wildcard" && field.Index != false)
            {
                state.DefaultFields.Add(fullName);
            }

            if (mapping is not null)
            {
                PutAtPath(output, field.Name, mapping);
            }
        }
    }

    private static JsonObjectTree LeafMapping(FieldDefinition field, BuildState state)
    {
        var mapping = CommonProperties(field);
        switch (field.Type)
        {
            case "" or "keyword" or "wildcard":
                mapping.Set("type", field.Type.Length == 0 ? "keyword" : field.Type);
                if (field.IgnoreAbove == 0)
                {
                    mapping.Set("ignore_above", DefaultIgnoreAbove);
                }
                else if (field.IgnoreAbove > 0)
                {
                    mapping.Set("ignore_above", field.IgnoreAbove);
                }

                break;
            case "text":
                mapping.Set("type", "text");
                if (!field.Norms)
                {
                    mapping.Set("norms", false);
                }

                if (field.Analyzer is not null)
                {
                    mapping.Set("analyzer", field.Analyzer);
                }

                if (field.SearchAnalyzer is not null)
                {
                    mapping.Set("search_analyzer", field.SearchAnalyzer);
                }

                break;
            case "integer":
                mapping.Set("type", "long");
                break;
            case "scaled_float":
                mapping.Set("type", "scaled_float");
                mapping.Set("scaling_factor", field.ScalingFactor ?? DefaultScalingFactor);
                break;
            case "date" or "date_nanos":
                mapping.Set("type", field.Type);
                if (field.Format is not null)
                {
                    mapping.Set("format", field.Format);
                }

                break;
            case "alias":
                mapping.Set("type", "alias");
                mapping.Set("path", field.Path);
                break;
            case "array":
                if (field.ObjectType is not null)
                {
                    mapping.Set("type", field.ObjectType);
                }

                break;
            default:
                mapping.Set("type", field.Type);
                break;
        }

        if (field.MultiFields.Count > 0)
        {
            var multi = new JsonObjectTree();
            foreach (var sub in field.MultiFields)
            {
                multi.Set(sub.Name, LeafMapping(sub, state));
            }

            mapping.Set("fields", multi);
        }

        return mapping;
    }

    private static JsonObjectTree ObjectMapping(FieldDefinition field, string path, BuildState state)
    {
        if (field.ObjectType is not null)
        {
            var dynamicMapping = CommonProperties(field);
            string matchType;
            switch (field.ObjectType)
            {
                case "scaled_float":
                    dynamicMapping.Set("type", "scaled_float");
                    dynamicMapping.Set("scaling_factor", field.ScalingFactor ?? DefaultScalingFactor);
                    matchType = "*";
                    break;
                case "text" or "keyword":
                    dynamicMapping.Set("type", field.ObjectType);
                    matchType = "string";
                    break;
                case "byte" or "double" or "float" or "long" or "short" or "boolean":
                    dynamicMapping.Set("type", field.ObjectType);
                    matchType = field.ObjectType;
                    break;
                default:
                    throw new FormatException($"{field.Where}: object_type '{field.ObjectType}' of field '{field.Name}' is not supported");
            }

            var fullName = path.Length == 0 ? field.Name : path + "." + field.Name;
            var dynamicTemplate = new JsonObjectTree();
            var body = dynamicTemplate.Object(fullName);
            body.Set("mapping", dynamicMapping);
            body.Set("match_mapping_type", field.ObjectTypeMappingType ?? matchType);
            body.Set("path_match", fullName.Contains('*') ? fullName : fullName + ".*");
            state.DynamicTemplates.Add(dynamicTemplate);
        }

        var mapping = CommonProperties(field);
        mapping.Set("type", "object");
        if (field.Enabled is { } enabled)
        {
            mapping.Set("enabled", enabled);
        }

        if (field.Dynamic is not null)
        {
            mapping.Set("dynamic", DynamicValue(field.Dynamic));
        }

        return mapping;
    }

    private static JsonObjectTree CommonProperties(FieldDefinition field)
    {
        var mapping = new JsonObjectTree();
        if (field.Index is { } index)
        {
            mapping.Set("index", index);
        }

        if (field.DocValues is { } docValues)
        {
            mapping.Set("doc_values", docValues);
        }

        if (field.CopyTo is not null)
        {
            mapping.Set("copy_to", field.CopyTo);
        }

        return mapping;
    }

    private static object DynamicValue(string dynamic) => dynamic switch
    {
        "true" => true,
        "false" => false,
        _ => dynamic,
    };

    /// <summary>The mapping object a (possibly dotted) name lands on, created with its parents when missing.</summary>
    private static JsonObjectTree ObjectAtPath(JsonObjectTree output, string dottedName)
    {
        var parts = dottedName.Split('.');
        var node = output;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            node = node.Object(parts[i]).Object("properties");
        }

        return node.Object(parts[^1]);
    }

    /// <summary>libbeat's GenerateKey: <c>a.b.c</c> is stored as <c>a.properties.b.properties.c</c>.</summary>
    private static void PutAtPath(JsonObjectTree output, string dottedName, JsonObjectTree mapping)
    {
        var parts = dottedName.Split('.');
        var node = output;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            node = node.Object(parts[i]).Object("properties");
        }

        node.Set(parts[^1], mapping);
    }

    private sealed class BuildState
    {
        public List<object?> DynamicTemplates { get; } = new();

        public List<object?> DefaultFields { get; } = new();
    }
}
