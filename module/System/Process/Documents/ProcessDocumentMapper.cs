using Shipper.Module.System.Process.Tracking;
using Shipper.Module.System.Process.Users;

namespace Shipper.Module.System.Process.Documents;

/// <summary>
/// Turns a tracker report into a document: start time and entity ids, user and group names, capability names,
/// terminal, parent details. Counts read failures by kind (<c>process.enrichment.failures.&lt;kind&gt;</c>).
/// Not thread-safe: one mapper per document stage.
/// </summary>
public sealed class ProcessDocumentMapper
{
    private readonly EntityId? _entityId;
    private readonly StartTimeClock _clock;
    private readonly UserDirectory _users;
    private readonly ProcessMetrics _metrics;
    private readonly CapabilityNames _capabilities = new();

    /// <param name="hostId">The host id entity ids derive from; without one, no entity ids are written (as Auditbeat).</param>
    public ProcessDocumentMapper(string hostId, StartTimeClock clock, UserDirectory users, ProcessMetrics metrics)
    {
        _entityId = string.IsNullOrEmpty(hostId) ? null : new EntityId(hostId);
        _clock = clock;
        _users = users;
        _metrics = metrics;
    }

    public ProcessDocument Map(ProcessReport report)
    {
        var facts = report.Facts;
        long? start = facts.StatKnown ? _clock.ToUnixNanoseconds(facts.StartTimeTicks) : null;
        var parent = report.Parent;
        long? parentStart = parent is { StartKnown: true } ? _clock.ToUnixNanoseconds(parent.StartTimeTicks) : null;
        var document = new ProcessDocument
        {
            Action = ProcessAction.For(report.Events),
            Timestamp = report.Timestamp,
            Kind = report.Kind,
            StateId = report.StateId,
            Pid = facts.Pid,
            Name = facts.Name,
            Args = facts.Args,
            Executable = facts.Executable,
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
            ParentArgs = parent?.Args,
            ParentEntityId = parentStart is { } ps && parent is not null ? _entityId?.Compute(parent.Pid, ps) : null,
            GroupLeaderPid = facts.StatKnown ? facts.ProcessGroupId : 0,
            SessionLeaderPid = facts.StatKnown ? facts.SessionId : 0,
            Uids = facts.Uids,
            Gids = facts.Gids,
            UserName = facts.Uids is { Length: > 0 } uids ? _users.UserName(uids[0]) : null,
            GroupName = facts.Gids is { Length: > 0 } gids ? _users.GroupName(gids[0]) : null,
            MountNamespace = facts.MountNamespace,
        };

        if (report.Errors is { } errors)
        {
            foreach (var error in errors)
            {
                document.AddError(error);
                CountFailure(error);
            }
        }

        return document;
    }

    private static long ToUnixNanoseconds(DateTime time) => (time.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100;

    /// <summary>Counts a read failure by the /proc file it names (<c>cannot read /proc/42/exe: …</c>).</summary>
    private void CountFailure(string error)
    {
        _metrics.EnrichmentFailure(FailureKind(error));
    }

    /// <summary>
    /// The failure kind an error names: the /proc file (<c>stat</c>, <c>status</c>, <c>cmdline</c>, <c>exe</c>,
    /// <c>cwd</c>, <c>ns_mnt</c>), <c>gone</c> when the whole /proc/&lt;pid&gt; was gone, else <c>other</c>.
    /// </summary>
    public static string FailureKind(string error)
    {
        var at = error.IndexOf("/proc/", StringComparison.Ordinal);
        if (at < 0)
        {
            return "other";
        }

        var i = at + "/proc/".Length;
        while (i < error.Length && char.IsAsciiDigit(error[i]))
        {
            i++;
        }

        if (i >= error.Length || error[i] != '/')
        {
            return "gone";
        }

        var fileStart = i + 1;
        var fileEnd = fileStart;
        while (fileEnd < error.Length && error[fileEnd] != ':' && error[fileEnd] != ' ')
        {
            fileEnd++;
        }

        return error.AsSpan(fileStart, fileEnd - fileStart) switch
        {
            "stat" => "stat",
            "status" => "status",
            "cmdline" => "cmdline",
            "exe" => "exe",
            "cwd" => "cwd",
            "ns/mnt" => "ns_mnt",
            _ => "other",
        };
    }
}
