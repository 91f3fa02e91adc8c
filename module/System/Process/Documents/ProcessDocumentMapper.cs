using Shipper.Module.Containers;
using Shipper.Module.Logging;
using Shipper.Module.System.Process.Tracking;
using Shipper.Module.System.Process.Users;

namespace Shipper.Module.System.Process.Documents;

/// <summary>
/// Turns a tracker report into a document: start time and entity ids, user and group names, capability names,
/// terminal, parent details. (/proc read failures are counted by kind where they happen, in the reader.)
/// The shipper's own processes get secrets on their command line (<c>-E output.elasticsearch.password=…</c>)
/// redacted, as <c>export config</c> shows them; every other process's arguments are written exactly.
/// Not thread-safe: one mapper per document stage.
/// </summary>
public sealed class ProcessDocumentMapper
{
    private readonly EntityId? _entityId;
    private readonly StartTimeClock _clock;
    private readonly UserDirectory _users;
    private readonly CapabilityNames _capabilities = new();
    private readonly SecretRedactor _secrets;
    private readonly int[] _shipperPids;
    private readonly IContainerMetadataSource? _containerMetadata;

    /// <param name="hostId">The host id entity ids derive from; without one, no entity ids are written (as Auditbeat).</param>
    /// <param name="secrets">Redacts the command lines of <paramref name="shipperPids"/>.</param>
    /// <param name="shipperPids">The shipper's own processes (the worker and its watcher).</param>
    /// <param name="containerMetadata">Names, images and labels of containers (add_docker_metadata); null when not configured.</param>
    public ProcessDocumentMapper(string hostId, StartTimeClock clock, UserDirectory users, SecretRedactor? secrets = null, IReadOnlyList<int>? shipperPids = null, IContainerMetadataSource? containerMetadata = null)
    {
        _containerMetadata = containerMetadata;
        _entityId = string.IsNullOrEmpty(hostId) ? null : new EntityId(hostId);
        _clock = clock;
        _users = users;
        _secrets = secrets ?? SecretRedactor.None;
        _shipperPids = shipperPids is null ? Array.Empty<int>() : [.. shipperPids];
    }

    public ProcessDocument Map(ProcessReport report)
    {
        var facts = report.Facts;
        long? start = facts.StartKnown ? _clock.ToUnixNanoseconds(facts.StartTimeTicks, facts.StartBootNanoseconds) : null;
        var parent = report.Parent;
        long? parentStart = parent is { StartKnown: true } ? _clock.ToUnixNanoseconds(parent.StartTimeTicks, parent.StartBootNanoseconds) : null;
        var document = new ProcessDocument
        {
            Action = ProcessAction.For(report.Events),
            Timestamp = report.Timestamp,
            Kind = report.Kind,
            StateId = report.StateId,
            Pid = facts.Pid,
            Observations = report.Observations,
            Name = facts.Name,
            Args = ArgsOf(facts.Pid, facts.Args),
            ArgsTruncated = facts.ArgsTruncated,
            ArgsTrueCount = facts.ArgsTrueCount,
            Executable = facts.Executable,
            ExecutableIdentity = facts.ExecutableIdentity,
            WorkingDirectory = facts.WorkingDirectory,
            Start = start,
            EntityId = start is { } s ? _entityId?.Compute(facts.Pid, s) : null,
            End = report.EndTime is { } end ? ToUnixNanoseconds(end) : null,
            Exit = report.Exit,
            TtyKnown = facts.StatKnown,
            Tty = TtyDevice.FromTtyNr(facts.TtyNr),
            CapabilitiesEffective = facts.CapabilitiesKnown ? _capabilities.Names(facts.CapEffective) : null,
            CapabilitiesPermitted = facts.CapabilitiesKnown ? _capabilities.Names(facts.CapPermitted) : null,
            ParentPid = facts.ParentPid,
            ParentName = parent?.Name,
            ParentExecutable = parent?.Executable,
            ParentArgs = parent is null ? null : ArgsOf(parent.Pid, parent.Args),
            ParentEntityId = parentStart is { } ps && parent is not null ? _entityId?.Compute(parent.Pid, ps) : null,
            GroupLeaderPid = facts.StatKnown ? facts.ProcessGroupId : 0,
            SessionLeaderPid = facts.StatKnown ? facts.SessionId : 0,
            Uids = facts.Uids,
            Gids = facts.Gids,
            UserName = facts.Uids is { Length: > 0 } uids ? _users.UserName(uids[0]) : null,
            GroupName = facts.Gids is { Length: > 0 } gids ? _users.GroupName(gids[0]) : null,
            MountNamespace = facts.MountNamespace,
            Container = facts.Container,
            ContainerMetadata = facts.Container is { } container ? _containerMetadata?.Find(container.Id) : null,
        };

        if (report.Errors is { } errors)
        {
            foreach (var error in errors)
            {
                document.AddError(error);
            }
        }

        return document;
    }

    private string[]? ArgsOf(int pid, string[]? args)
    {
        if (args is null)
        {
            return null;
        }

        foreach (var own in _shipperPids)
        {
            if (own == pid)
            {
                return _secrets.RedactArguments(args);
            }
        }

        return args;
    }

    private static long ToUnixNanoseconds(DateTime time) => (time.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100;
}
