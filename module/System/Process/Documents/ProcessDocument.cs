using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Shipper.Module.Containers;
using Shipper.Module.Registry;
using Shipper.Module.System.Process.Enrichment;
using Shipper.Module.System.Process.Tracking;

namespace Shipper.Module.System.Process.Documents;

/// <summary>
/// The <c>system/process</c> fields of one document (Auditbeat's, plus parent details, group and session
/// leaders and the exit signal). Built by <see cref="ProcessDocumentMapper"/>; the hash stage may add digests
/// and errors before it is published. Written with <see cref="Utf8JsonWriter"/>, no reflection.
/// </summary>
public sealed class ProcessDocument : IEventBody
{
    private static readonly JsonEncodedText ProcessKey = JsonEncodedText.Encode("process");
    private static readonly JsonEncodedText NameKey = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText ArgsKey = JsonEncodedText.Encode("args");
    private static readonly JsonEncodedText ArgsCountKey = JsonEncodedText.Encode("args_count");
    private static readonly JsonEncodedText CommandLineKey = JsonEncodedText.Encode("command_line");
    private static readonly JsonEncodedText PidKey = JsonEncodedText.Encode("pid");
    private static readonly JsonEncodedText ParentKey = JsonEncodedText.Encode("parent");
    private static readonly JsonEncodedText WorkingDirectoryKey = JsonEncodedText.Encode("working_directory");
    private static readonly JsonEncodedText ExecutableKey = JsonEncodedText.Encode("executable");
    private static readonly JsonEncodedText StartKey = JsonEncodedText.Encode("start");
    private static readonly JsonEncodedText EndKey = JsonEncodedText.Encode("end");
    private static readonly JsonEncodedText ExitCodeKey = JsonEncodedText.Encode("exit_code");
    private static readonly JsonEncodedText ExitSignalKey = JsonEncodedText.Encode("exit_signal");
    private static readonly JsonEncodedText EntityIdKey = JsonEncodedText.Encode("entity_id");
    private static readonly JsonEncodedText InteractiveKey = JsonEncodedText.Encode("interactive");
    private static readonly JsonEncodedText TtyKey = JsonEncodedText.Encode("tty");
    private static readonly JsonEncodedText CharDeviceKey = JsonEncodedText.Encode("char_device");
    private static readonly JsonEncodedText MajorKey = JsonEncodedText.Encode("major");
    private static readonly JsonEncodedText MinorKey = JsonEncodedText.Encode("minor");
    private static readonly JsonEncodedText ThreadKey = JsonEncodedText.Encode("thread");
    private static readonly JsonEncodedText CapabilitiesKey = JsonEncodedText.Encode("capabilities");
    private static readonly JsonEncodedText EffectiveKey = JsonEncodedText.Encode("effective");
    private static readonly JsonEncodedText PermittedKey = JsonEncodedText.Encode("permitted");
    private static readonly JsonEncodedText GroupLeaderKey = JsonEncodedText.Encode("group_leader");
    private static readonly JsonEncodedText SessionLeaderKey = JsonEncodedText.Encode("session_leader");
    private static readonly JsonEncodedText HashKey = JsonEncodedText.Encode("hash");
    private static readonly JsonEncodedText UserKey = JsonEncodedText.Encode("user");
    private static readonly JsonEncodedText IdKey = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText GroupKey = JsonEncodedText.Encode("group");
    private static readonly JsonEncodedText SavedKey = JsonEncodedText.Encode("saved");
    private static readonly JsonEncodedText MessageKey = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText ErrorKey = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText ContainerKey = JsonEncodedText.Encode("container");
    private static readonly JsonEncodedText RuntimeKey = JsonEncodedText.Encode("runtime");
    private static readonly JsonEncodedText ImageKey = JsonEncodedText.Encode("image");
    private static readonly JsonEncodedText LabelsKey = JsonEncodedText.Encode("labels");

    public required ProcessAction Action { get; init; }

    public required DateTime Timestamp { get; init; }

    public EventKind Kind { get; init; } = EventKind.Event;

    public string? StateId { get; init; }

    public required int Pid { get; init; }

    /// <summary>Kernel events folded into this document (see <see cref="ProcessReport.Observations"/>); not emitted.</summary>
    internal int Observations { get; init; }

    public string? Name { get; init; }

    public string[]? Args { get; init; }

    /// <summary>
    /// <see cref="Args"/> is the beginning of a command line longer than <c>process.max_args_bytes</c>: the
    /// document is tagged <see cref="ArgsTruncatedTag"/> and <c>process.args_count</c> is
    /// <see cref="ArgsTrueCount"/> (left out when unknown, rather than the count of what was kept).
    /// </summary>
    public bool ArgsTruncated { get; init; }

    public int? ArgsTrueCount { get; init; }

    public const string ArgsTruncatedTag = "process_args_truncated";

    private static readonly string[] ArgsTruncatedTags = [ArgsTruncatedTag];

    public IReadOnlyList<string>? Tags => ArgsTruncated ? ArgsTruncatedTags : null;

    public string? Executable { get; init; }

    /// <summary>Which version of <see cref="Executable"/> ran (not written out): the hasher publishes only its digests.</summary>
    public Hashing.FileIdentity? ExecutableIdentity { get; init; }

    public string? WorkingDirectory { get; init; }

    /// <summary>Process start in Unix nanoseconds; null when <c>stat</c> could not be read.</summary>
    public long? Start { get; init; }

    public string? EntityId { get; init; }

    public long? End { get; init; }

    public ExitStatus Exit { get; init; }

    /// <summary>Whether the terminal is known (<c>stat</c> read): <c>process.interactive</c> is written then.</summary>
    public bool TtyKnown { get; init; }

    public TtyDevice Tty { get; init; }

    public string[]? CapabilitiesEffective { get; init; }

    public string[]? CapabilitiesPermitted { get; init; }

    public int ParentPid { get; init; }

    public string? ParentName { get; init; }

    public string? ParentExecutable { get; init; }

    public string[]? ParentArgs { get; init; }

    public string? ParentEntityId { get; init; }

    public int GroupLeaderPid { get; init; }

    public int SessionLeaderPid { get; init; }

    /// <summary>Real, effective, saved user ids; null when <c>status</c> could not be read.</summary>
    public uint[]? Uids { get; init; }

    public uint[]? Gids { get; init; }

    public string? UserName { get; init; }

    public string? GroupName { get; init; }

    /// <summary>Inode of the process's mount namespace (for the hasher; not written).</summary>
    public ulong MountNamespace { get; init; }

    /// <summary><c>container.id</c> and <c>container.runtime</c>, from the process's cgroup; null when in no container.</summary>
    public ContainerIdentity? Container { get; init; }

    /// <summary><c>container.name</c>, <c>container.image.name</c> and <c>container.labels</c> (add_docker_metadata).</summary>
    public ContainerMetadata? ContainerMetadata { get; init; }

    public List<ExecutableDigest>? Hashes { get; private set; }

    public List<string>? Errors { get; private set; }

    public string? ErrorMessage => Errors is { Count: > 0 } ? string.Join("; ", Errors) : null;

    /// <summary>Auditbeat's message: <c>Process &lt;name&gt; (PID: &lt;pid&gt;) by user &lt;user&gt; &lt;VERB&gt;</c>, or <c>ERROR for PID &lt;pid&gt;: &lt;error&gt;</c>.</summary>
    public string Message
    {
        get
        {
            if (ErrorMessage is { } error)
            {
                return $"ERROR for PID {Pid.ToString(CultureInfo.InvariantCulture)}: {error}";
            }

            var by = UserName is { Length: > 0 } ? " by user " + UserName : "";
            return $"Process {Name} (PID: {Pid.ToString(CultureInfo.InvariantCulture)}){by} {Action.Verb}";
        }
    }

    private long _estimatedBytes;

    /// <summary>
    /// Counted once, when the publisher first asks (the hash stage has added what it adds by then): every string
    /// the document holds (name, args, executable, working directory, entity and state ids, parent name,
    /// executable, args and entity id, user and group names, errors, hash digests, container id, runtime, name, image
    /// and encoded labels) at two bytes a character plus
    /// 24 for the string object, 8 per array slot, and 512 for the document object itself. Capability names are
    /// shared by all documents and cost nothing per document. A 1 MiB command line counts about 2 MiB, which is
    /// what it takes in memory as .NET strings.
    /// </summary>
    public long EstimatedBytes
    {
        get
        {
            if (_estimatedBytes == 0)
            {
                _estimatedBytes = CountBytes();
            }

            return _estimatedBytes;
        }
    }

    private long CountBytes()
    {
        var bytes = 512 + StringBytes(Name) + StringBytes(Executable) + StringBytes(WorkingDirectory) + StringBytes(StateId)
            + StringBytes(EntityId) + StringBytes(ParentName) + StringBytes(ParentExecutable) + StringBytes(ParentEntityId)
            + StringBytes(UserName) + StringBytes(GroupName) + ArrayBytes(Args) + ArrayBytes(ParentArgs)
            + StringBytes(Container?.Id) + StringBytes(Container?.Runtime) + (ContainerMetadata?.EstimatedBytes ?? 0);
        if (Errors is not null)
        {
            foreach (var error in Errors)
            {
                bytes += 8 + StringBytes(error);
            }
        }

        if (Hashes is not null)
        {
            foreach (var digest in Hashes)
            {
                bytes += 32 + StringBytes(digest.Hex);
            }
        }

        return bytes;
    }

    private static long StringBytes(string? value) => value is null ? 0 : 24 + 2L * value.Length;

    private static long ArrayBytes(string[]? values)
    {
        if (values is null)
        {
            return 0;
        }

        long bytes = 24;
        foreach (var value in values)
        {
            bytes += 8 + StringBytes(value);
        }

        return bytes;
    }

    public void AddError(string error) => (Errors ??= new List<string>(1)).Add(error);

    public void AddHash(ExecutableDigest digest) => (Hashes ??= new List<ExecutableDigest>(1)).Add(digest);

    public Event ToEvent() => new()
    {
        Timestamp = Timestamp,
        Module = "system",
        Dataset = "process",
        Action = Action.Name,
        Kind = Kind,
        Categories = ProcessAction.Categories,
        Types = Action.Types,
        Id = StateId,
        Body = this,
    };

    public void WriteFields(Utf8JsonWriter writer)
    {
        WriteProcess(writer);
        WriteUser(writer);
        WriteContainer(writer);
        writer.WriteString(MessageKey, Message);
        if (ErrorMessage is { } error)
        {
            writer.WriteStartObject(ErrorKey);
            writer.WriteString(MessageKey, error);
            writer.WriteEndObject();
        }
    }

    private void WriteProcess(Utf8JsonWriter writer)
    {
        writer.WriteStartObject(ProcessKey);
        writer.WriteNumber(PidKey, Pid);
        WriteOptional(writer, NameKey, Name);
        if (Args is not null)
        {
            WriteStrings(writer, ArgsKey, Args);
            if (!ArgsTruncated)
            {
                writer.WriteNumber(ArgsCountKey, Args.Length);
            }
            else if (ArgsTrueCount is { } count)
            {
                writer.WriteNumber(ArgsCountKey, count);
            }

            WriteCommandLine(writer, Args);
        }

        WriteOptional(writer, ExecutableKey, Executable);
        WriteOptional(writer, WorkingDirectoryKey, WorkingDirectory);
        if (Start is { } start)
        {
            Rfc3339.Write(writer, StartKey, start);
        }

        WriteOptional(writer, EntityIdKey, EntityId);
        if (End is { } end)
        {
            Rfc3339.Write(writer, EndKey, end);
        }

        if (Exit.Known)
        {
            writer.WriteNumber(ExitCodeKey, Exit.Code);
            if (Exit.Signal != 0)
            {
                writer.WriteNumber(ExitSignalKey, Exit.Signal);
            }
        }

        if (TtyKnown)
        {
            writer.WriteBoolean(InteractiveKey, Tty.IsInteractive);
            if (Tty.Major != 0)
            {
                writer.WriteStartObject(TtyKey);
                writer.WriteStartObject(CharDeviceKey);
                writer.WriteNumber(MajorKey, Tty.Major);
                writer.WriteNumber(MinorKey, Tty.Minor);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
        }

        if (CapabilitiesEffective is { Length: > 0 } || CapabilitiesPermitted is { Length: > 0 })
        {
            writer.WriteStartObject(ThreadKey);
            writer.WriteStartObject(CapabilitiesKey);
            if (CapabilitiesEffective is { Length: > 0 } effective)
            {
                WriteCapabilities(writer, EffectiveKey, effective);
            }

            if (CapabilitiesPermitted is { Length: > 0 } permitted)
            {
                WriteCapabilities(writer, PermittedKey, permitted);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        if (ParentPid > 0)
        {
            writer.WriteStartObject(ParentKey);
            writer.WriteNumber(PidKey, ParentPid);
            WriteOptional(writer, NameKey, ParentName);
            WriteOptional(writer, ExecutableKey, ParentExecutable);
            if (ParentArgs is not null)
            {
                WriteStrings(writer, ArgsKey, ParentArgs);
                WriteCommandLine(writer, ParentArgs);
            }

            WriteOptional(writer, EntityIdKey, ParentEntityId);
            writer.WriteEndObject();
        }

        WritePidObject(writer, GroupLeaderKey, GroupLeaderPid);
        WritePidObject(writer, SessionLeaderKey, SessionLeaderPid);
        if (Hashes is { Count: > 0 })
        {
            writer.WriteStartObject(HashKey);
            foreach (var digest in Hashes)
            {
                writer.WriteString(digest.Type, digest.Hex);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// <c>command_line</c> from the arguments (<see cref="QuotedCommandLine"/>); from what was kept when they were
    /// cut at <c>process.max_args_bytes</c>. Not counted in <see cref="EstimatedBytes"/>: it is written from the
    /// arguments as the document is encoded, and no copy of it is held while the document is queued.
    /// </summary>
    private static void WriteCommandLine(Utf8JsonWriter writer, string[] args) =>
        QuotedCommandLine.Write(writer, CommandLineKey, args);

    private void WriteContainer(Utf8JsonWriter writer)
    {
        if (Container is not { } container)
        {
            return;
        }

        writer.WriteStartObject(ContainerKey);
        writer.WriteString(IdKey, container.Id);
        WriteOptional(writer, RuntimeKey, container.Runtime);
        if (ContainerMetadata is { } metadata)
        {
            WriteOptional(writer, NameKey, metadata.Name);
            if (metadata.ImageName is { } image)
            {
                writer.WriteStartObject(ImageKey);
                writer.WriteString(NameKey, image);
                writer.WriteEndObject();
            }

            if (metadata.LabelsJson is { } labels)
            {
                writer.WritePropertyName(LabelsKey);
                if (writer.Options.Indented)
                {
                    using var parsed = JsonDocument.Parse(labels); // raw JSON would not be indented
                    parsed.RootElement.WriteTo(writer);
                }
                else
                {
                    writer.WriteRawValue(labels, skipInputValidation: true);
                }
            }
        }

        writer.WriteEndObject();
    }

    private void WriteUser(Utf8JsonWriter writer)
    {
        if (Uids is null && Gids is null)
        {
            return;
        }

        writer.WriteStartObject(UserKey);
        if (Uids is { Length: >= 3 } uids)
        {
            WriteId(writer, IdKey, uids[0]);
            WriteOptional(writer, NameKey, UserName);
        }

        if (Gids is { Length: >= 3 } gids)
        {
            writer.WriteStartObject(GroupKey);
            WriteId(writer, IdKey, gids[0]);
            WriteOptional(writer, NameKey, GroupName);
            writer.WriteEndObject();
        }

        WriteIdPair(writer, EffectiveKey, 1);
        WriteIdPair(writer, SavedKey, 2);
        writer.WriteEndObject();
    }

    private void WriteIdPair(Utf8JsonWriter writer, JsonEncodedText key, int index)
    {
        writer.WriteStartObject(key);
        if (Uids is { Length: >= 3 } uids)
        {
            WriteId(writer, IdKey, uids[index]);
        }

        if (Gids is { Length: >= 3 } gids)
        {
            writer.WriteStartObject(GroupKey);
            WriteId(writer, IdKey, gids[index]);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    // Auditbeat writes user and group ids as strings (keyword fields).
    private static void WriteId(Utf8JsonWriter writer, JsonEncodedText key, uint id)
    {
        Span<byte> digits = stackalloc byte[10];
        Utf8Formatter.TryFormat(id, digits, out var written);
        writer.WriteString(key, digits[..written]);
    }

    private static void WritePidObject(Utf8JsonWriter writer, JsonEncodedText key, int pid)
    {
        if (pid <= 0)
        {
            return;
        }

        writer.WriteStartObject(key);
        writer.WriteNumber(PidKey, pid);
        writer.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter writer, JsonEncodedText key, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(key, value);
        }
    }

    /// <summary>
    /// A root process carries 41 capability names twice, most of a document's strings. The mapper hands out one
    /// shared array per capability set, so each set is encoded once and copied as raw JSON after that.
    /// </summary>
    private static void WriteCapabilities(Utf8JsonWriter writer, JsonEncodedText key, string[] names)
    {
        if (writer.Options.Indented)
        {
            WriteStrings(writer, key, names); // raw JSON would not be indented
            return;
        }

        writer.WritePropertyName(key);
        writer.WriteRawValue(EncodedCapabilities.GetValue(names, static n => EncodeStrings(n)), skipInputValidation: true);
    }

    private static readonly ConditionalWeakTable<string[], byte[]> EncodedCapabilities = new();

    private static byte[] EncodeStrings(string[] values)
    {
        var buffer = new ArrayBufferWriter<byte>(values.Length * 24);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartArray();
            foreach (var value in values)
            {
                json.WriteStringValue(value);
            }

            json.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteStrings(Utf8JsonWriter writer, JsonEncodedText key, string[] values)
    {
        writer.WriteStartArray(key);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }
}
