namespace Shipper.Tests.Cmd.IndexManagement;

/// <summary>
/// Facts from ECS (elastic/ecs <c>generated/ecs/ecs_flat.yml</c>, tags v1.1.0 to v8.17.0) for every field
/// fields.yml declares: the 8.17 type, ignore_above, whether it has the <c>.text</c> match_only_text
/// multi-field, and the first release defining it. Kept here, apart from fields.yml, so a test can tell when
/// fields.yml or the template drifts from ECS: fields.yml cannot vouch for itself.
/// </summary>
public static class EcsReference
{
    public sealed record Field(string Type, int? IgnoreAbove, bool Text, string Since);

    public static readonly IReadOnlyDictionary<string, Field> Fields = new Dictionary<string, Field>
    {
        ["@timestamp"] = new("date", null, false, "1.1.0"),
        ["tags"] = new("keyword", 1024, false, "1.1.0"),
        ["message"] = new("match_only_text", null, false, "1.1.0"),
        ["labels"] = new("object", null, false, "1.1.0"),
        ["data_stream.type"] = new("constant_keyword", null, false, "1.10.0"),
        ["data_stream.dataset"] = new("constant_keyword", null, false, "1.10.0"),
        ["data_stream.namespace"] = new("constant_keyword", null, false, "1.10.0"),
        ["ecs.version"] = new("keyword", 1024, false, "1.1.0"),
        ["agent.type"] = new("keyword", 1024, false, "1.1.0"),
        ["agent.name"] = new("keyword", 1024, false, "1.1.0"),
        ["agent.version"] = new("keyword", 1024, false, "1.1.0"),
        ["agent.id"] = new("keyword", 1024, false, "1.1.0"),
        ["agent.ephemeral_id"] = new("keyword", 1024, false, "1.1.0"),
        ["host.name"] = new("keyword", 1024, false, "1.1.0"),
        ["host.hostname"] = new("keyword", 1024, false, "1.1.0"),
        ["host.id"] = new("keyword", 1024, false, "1.1.0"),
        ["host.architecture"] = new("keyword", 1024, false, "1.1.0"),
        ["host.ip"] = new("ip", null, false, "1.1.0"),
        ["host.mac"] = new("keyword", 1024, false, "1.1.0"),
        ["host.domain"] = new("keyword", 1024, false, "1.3.0"),
        ["host.type"] = new("keyword", 1024, false, "1.1.0"),
        ["host.geo.name"] = new("keyword", 1024, false, "1.1.0"),
        ["host.geo.location"] = new("geo_point", null, false, "1.1.0"),
        ["host.geo.continent_name"] = new("keyword", 1024, false, "1.1.0"),
        ["host.geo.country_name"] = new("keyword", 1024, false, "1.1.0"),
        ["host.geo.country_iso_code"] = new("keyword", 1024, false, "1.1.0"),
        ["host.geo.region_name"] = new("keyword", 1024, false, "1.1.0"),
        ["host.geo.region_iso_code"] = new("keyword", 1024, false, "1.1.0"),
        ["host.geo.city_name"] = new("keyword", 1024, false, "1.1.0"),
        ["host.os.type"] = new("keyword", 1024, false, "1.8.0"),
        ["host.os.family"] = new("keyword", 1024, false, "1.1.0"),
        ["host.os.name"] = new("keyword", 1024, true, "1.1.0"),
        ["host.os.version"] = new("keyword", 1024, false, "1.1.0"),
        ["host.os.platform"] = new("keyword", 1024, false, "1.1.0"),
        ["host.os.kernel"] = new("keyword", 1024, false, "1.1.0"),
        ["host.os.full"] = new("keyword", 1024, true, "1.1.0"),
        ["cloud.provider"] = new("keyword", 1024, false, "1.1.0"),
        ["cloud.region"] = new("keyword", 1024, false, "1.1.0"),
        ["cloud.availability_zone"] = new("keyword", 1024, false, "1.1.0"),
        ["cloud.instance.id"] = new("keyword", 1024, false, "1.1.0"),
        ["cloud.instance.name"] = new("keyword", 1024, false, "1.1.0"),
        ["cloud.account.id"] = new("keyword", 1024, false, "1.1.0"),
        ["cloud.machine.type"] = new("keyword", 1024, false, "1.1.0"),
        ["container.id"] = new("keyword", 1024, false, "1.1.0"),
        ["container.runtime"] = new("keyword", 1024, false, "1.1.0"),
        ["container.name"] = new("keyword", 1024, false, "1.1.0"),
        ["container.image.name"] = new("keyword", 1024, false, "1.1.0"),
        ["container.labels"] = new("object", null, false, "1.1.0"),
        ["event.module"] = new("keyword", 1024, false, "1.1.0"),
        ["event.dataset"] = new("keyword", 1024, false, "1.1.0"),
        ["event.action"] = new("keyword", 1024, false, "1.1.0"),
        ["event.category"] = new("keyword", 1024, false, "1.1.0"),
        ["event.type"] = new("keyword", 1024, false, "1.1.0"),
        ["event.kind"] = new("keyword", 1024, false, "1.1.0"),
        ["event.id"] = new("keyword", 1024, false, "1.1.0"),
        ["event.ingested"] = new("date", null, false, "1.3.0"),
        ["event.created"] = new("date", null, false, "1.1.0"),
        ["service.type"] = new("keyword", 1024, false, "1.1.0"),
        ["error.message"] = new("match_only_text", null, false, "1.1.0"),
        ["process.name"] = new("keyword", 1024, true, "1.1.0"),
        ["process.args"] = new("keyword", 1024, false, "1.1.0"),
        ["process.args_count"] = new("long", null, false, "1.3.0"),
        ["process.command_line"] = new("wildcard", null, true, "1.3.0"),
        ["process.title"] = new("keyword", 1024, true, "1.1.0"),
        ["process.pid"] = new("long", null, false, "1.1.0"),
        ["process.entity_id"] = new("keyword", 1024, false, "1.5.0"),
        ["process.executable"] = new("keyword", 1024, true, "1.1.0"),
        ["process.working_directory"] = new("keyword", 1024, true, "1.1.0"),
        ["process.start"] = new("date", null, false, "1.1.0"),
        ["process.end"] = new("date", null, false, "1.12.0"),
        ["process.exit_code"] = new("long", null, false, "1.3.0"),
        ["process.interactive"] = new("boolean", null, false, "8.2.0"),
        ["process.tty.char_device.major"] = new("long", null, false, "8.2.0"),
        ["process.tty.char_device.minor"] = new("long", null, false, "8.2.0"),
        ["process.thread.capabilities.effective"] = new("keyword", 1024, false, "8.10.0"),
        ["process.thread.capabilities.permitted"] = new("keyword", 1024, false, "8.10.0"),
        ["process.parent.pid"] = new("long", null, false, "1.3.0"),
        ["process.parent.name"] = new("keyword", 1024, true, "1.3.0"),
        ["process.parent.executable"] = new("keyword", 1024, true, "1.3.0"),
        ["process.parent.args"] = new("keyword", 1024, false, "1.3.0"),
        ["process.parent.command_line"] = new("wildcard", null, true, "1.3.0"),
        ["process.parent.args_count"] = new("long", null, false, "1.3.0"),
        ["process.parent.start"] = new("date", null, false, "1.3.0"),
        ["process.parent.title"] = new("keyword", 1024, true, "1.3.0"),
        ["process.parent.entity_id"] = new("keyword", 1024, false, "1.5.0"),
        ["process.group_leader.pid"] = new("long", null, false, "8.2.0"),
        ["process.session_leader.pid"] = new("long", null, false, "8.2.0"),
        ["process.hash.md5"] = new("keyword", 1024, false, "1.1.0"),
        ["process.hash.sha1"] = new("keyword", 1024, false, "1.1.0"),
        ["process.hash.sha256"] = new("keyword", 1024, false, "1.1.0"),
        ["process.hash.sha384"] = new("keyword", 1024, false, "8.1.0"),
        ["process.hash.sha512"] = new("keyword", 1024, false, "1.1.0"),
        ["user.id"] = new("keyword", 1024, false, "1.1.0"),
        ["user.name"] = new("keyword", 1024, true, "1.1.0"),
        ["user.full_name"] = new("keyword", 1024, true, "1.1.0"),
        ["user.domain"] = new("keyword", 1024, false, "1.1.0"),
        ["user.group.id"] = new("keyword", 1024, false, "1.1.0"),
        ["user.group.name"] = new("keyword", 1024, false, "1.1.0"),
        ["user.effective.id"] = new("keyword", 1024, false, "1.8.0"),
        ["user.effective.group.id"] = new("keyword", 1024, false, "1.8.0"),
        ["group.id"] = new("keyword", 1024, false, "1.1.0"),
        ["group.name"] = new("keyword", 1024, false, "1.1.0"),
    };

    /// <summary>Fields fields.yml declares that ECS does not define, with where they come from and their type.</summary>
    public static readonly IReadOnlyDictionary<string, string> NotEcs = new Dictionary<string, string>
    {
        ["fields"] = "object", // beats: custom fields
        ["host.containerized"] = "boolean", // beats: add_host_metadata
        ["host.os.codename"] = "keyword", // beats: add_host_metadata
        ["host.os.build"] = "keyword", // beats: add_host_metadata
        ["process.exit_signal"] = "long", // Shipper
        ["process.hash.sha224"] = "keyword", // Auditbeat's hash_types
        ["process.hash.sha512_224"] = "keyword",
        ["process.hash.sha512_256"] = "keyword",
        ["process.hash.sha3_224"] = "keyword",
        ["process.hash.sha3_256"] = "keyword",
        ["process.hash.sha3_384"] = "keyword",
        ["process.hash.sha3_512"] = "keyword",
        ["process.hash.blake2b_256"] = "keyword",
        ["process.hash.blake2b_384"] = "keyword",
        ["process.hash.blake2b_512"] = "keyword",
        ["process.hash.xxh64"] = "keyword",
        ["user.saved.id"] = "keyword", // Auditbeat's system/process
        ["user.saved.group.id"] = "keyword",
    };

    /// <summary>Whether ECS release <paramref name="a"/> is later than <paramref name="b"/>.</summary>
    public static bool IsLater(string a, string b) => Version.Parse(a) > Version.Parse(b);
}
