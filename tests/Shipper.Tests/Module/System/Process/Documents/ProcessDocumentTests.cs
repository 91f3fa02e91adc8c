using global::System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Shipper.Module.Registry;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Enrichment;
using Shipper.Module.System.Process.Tracking;
using Shipper.Module.System.Process.Users;
using static Shipper.Tests.Module.System.Process.ProcessFixtures;

namespace Shipper.Tests.Module.System.Process.Documents;

public sealed class ProcessDocumentTests : IDisposable
{
    private const string HostId = "0123456789abcdef0123456789abcdef";

    // btime 1700000000 s (2023-11-14T22:13:20Z), 100 ticks per second.
    private static readonly StartTimeClock Clock = new(1_700_000_000L * 1_000_000_000, 100);
    private static readonly DateTime When = new(2024, 5, 1, 10, 0, 0, DateTimeKind.Utc);

    private readonly string _dir = Directory.CreateTempSubdirectory("shipper-doc-").FullName;
    private readonly ProcessDocumentMapper _mapper;

    public ProcessDocumentTests()
    {
        File.WriteAllText(Path.Combine(_dir, "passwd"), "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n");
        File.WriteAllText(Path.Combine(_dir, "group"), "root:x:0:\nstaff:x:1000:alice\n");
        var users = new UserDirectory(new FakeTimeProvider(), Path.Combine(_dir, "passwd"), Path.Combine(_dir, "group"));
        _mapper = new ProcessDocumentMapper(HostId, Clock, users);
    }

    [Fact]
    public void ProcessRanHasExactlyTheAuditbeatFieldsAndOurAdditions()
    {
        var facts = ProcessFacts.FromSample(Sample(1234, 100, 12345, "true", new[] { "/bin/true", "x1" }, "/usr/bin/true", cwd: "/tmp", ttyNr: (136 << 8) | 3));
        var report = new ProcessReport
        {
            Events = ProcessEvents.Fork | ProcessEvents.Exec | ProcessEvents.Exit,
            Timestamp = When,
            Facts = facts,
            Parent = new ParentSummary(100, "bash", "/usr/bin/bash", new[] { "-bash" }, true, 1000),
            EndTime = new DateTime(2024, 5, 1, 10, 0, 0, 500, DateTimeKind.Utc),
            Exit = ExitStatus.FromWaitStatus(0),
        };

        var document = _mapper.Map(report);
        using var json = Write(document);
        var root = json.RootElement;
        Assert.Equal(new[] { "process", "user", "message" }, Names(root));

        var process = root.GetProperty("process");
        Assert.Equal(
            new[]
            {
                "pid", "name", "args", "args_count", "command_line", "executable", "working_directory", "start", "entity_id", "end",
                "exit_code", "interactive", "tty", "thread", "parent", "group_leader", "session_leader",
            },
            Names(process));
        Assert.Equal(1234, process.GetProperty("pid").GetInt32());
        Assert.Equal("true", process.GetProperty("name").GetString());
        Assert.Equal(new[] { "/bin/true", "x1" }, Strings(process.GetProperty("args")));
        Assert.Equal(2, process.GetProperty("args_count").GetInt32());
        Assert.Equal("/usr/bin/true", process.GetProperty("executable").GetString());
        Assert.Equal("/tmp", process.GetProperty("working_directory").GetString());
        Assert.Equal("2023-11-14T22:15:23.450000000Z", process.GetProperty("start").GetString());
        Assert.Equal("AlVrtvcQmLhVEPID", process.GetProperty("entity_id").GetString());
        Assert.Equal("2024-05-01T10:00:00.500000000Z", process.GetProperty("end").GetString());
        Assert.Equal(0, process.GetProperty("exit_code").GetInt32());
        Assert.True(process.GetProperty("interactive").GetBoolean());
        Assert.Equal(136, process.GetProperty("tty").GetProperty("char_device").GetProperty("major").GetInt32());
        Assert.Equal(3, process.GetProperty("tty").GetProperty("char_device").GetProperty("minor").GetInt32());
        var capabilities = process.GetProperty("thread").GetProperty("capabilities");
        Assert.Equal(41, capabilities.GetProperty("effective").GetArrayLength());
        Assert.Equal("CAP_CHOWN", capabilities.GetProperty("effective")[0].GetString());
        Assert.Contains("CAP_SYS_ADMIN", Strings(capabilities.GetProperty("permitted")));
        Assert.Equal("CAP_CHECKPOINT_RESTORE", capabilities.GetProperty("permitted")[40].GetString());

        var parent = process.GetProperty("parent");
        Assert.Equal(new[] { "pid", "name", "executable", "args", "command_line", "entity_id" }, Names(parent));
        Assert.Equal("/bin/true x1", process.GetProperty("command_line").GetString());
        Assert.Equal("-bash", parent.GetProperty("command_line").GetString());
        Assert.Equal(100, parent.GetProperty("pid").GetInt32());
        Assert.Equal("bash", parent.GetProperty("name").GetString());
        Assert.Equal("/usr/bin/bash", parent.GetProperty("executable").GetString());
        Assert.Equal(new[] { "-bash" }, Strings(parent.GetProperty("args")));
        Assert.Equal("SYFy1YuuHj93Ht7x", new EntityId(HostId).Compute(1000, 0));
        Assert.Equal(new EntityId(HostId).Compute(100, Clock.ToUnixNanoseconds(1000)), parent.GetProperty("entity_id").GetString());
        Assert.Equal(1234, process.GetProperty("group_leader").GetProperty("pid").GetInt32());
        Assert.Equal(1234, process.GetProperty("session_leader").GetProperty("pid").GetInt32());

        var user = root.GetProperty("user");
        Assert.Equal(new[] { "id", "name", "group", "effective", "saved" }, Names(user));
        Assert.Equal("0", user.GetProperty("id").GetString());
        Assert.Equal("root", user.GetProperty("name").GetString());
        Assert.Equal("0", user.GetProperty("group").GetProperty("id").GetString());
        Assert.Equal("root", user.GetProperty("group").GetProperty("name").GetString());
        Assert.Equal("0", user.GetProperty("effective").GetProperty("id").GetString());
        Assert.Equal("0", user.GetProperty("effective").GetProperty("group").GetProperty("id").GetString());
        Assert.Equal("0", user.GetProperty("saved").GetProperty("id").GetString());
        Assert.Equal("0", user.GetProperty("saved").GetProperty("group").GetProperty("id").GetString());

        Assert.Equal("Process true (PID: 1234) by user root RAN", root.GetProperty("message").GetString());

        var evt = document.ToEvent();
        Assert.Equal("process_ran", evt.Action);
        Assert.Equal(new[] { "start", "change", "end" }, evt.Types);
        Assert.Equal(new[] { "process" }, evt.Categories);
        Assert.Equal("system", evt.Module);
        Assert.Equal("process", evt.Dataset);
        Assert.Equal(EventKind.Event, evt.Kind);
        Assert.Null(evt.Id);
        Assert.Equal(When, evt.Timestamp);
    }

    [Theory]
    [InlineData(ProcessEvents.Snapshot, "existing_process", new[] { "info" }, "is RUNNING")]
    [InlineData(ProcessEvents.Fork, "process_started", new[] { "start" }, "STARTED")]
    [InlineData(ProcessEvents.Fork | ProcessEvents.Exec, "process_started", new[] { "start", "change" }, "STARTED")]
    [InlineData(ProcessEvents.Exec, "process_changed_image", new[] { "change" }, "CHANGED IMAGE")]
    [InlineData(ProcessEvents.Exit, "process_stopped", new[] { "end" }, "STOPPED")]
    [InlineData(ProcessEvents.Exec | ProcessEvents.Exit, "process_stopped", new[] { "change", "end" }, "STOPPED")]
    [InlineData(ProcessEvents.Fork | ProcessEvents.Exit, "process_ran", new[] { "start", "end" }, "RAN")]
    [InlineData(ProcessEvents.Fork | ProcessEvents.Exec | ProcessEvents.Exit, "process_ran", new[] { "start", "change", "end" }, "RAN")]
    public void ActionsTypesAndVerbsFollowTheTable(ProcessEvents events, string action, string[] types, string verb)
    {
        var document = _mapper.Map(Report(events, Sample(42, 1, 100, "cron", uid: 1000, gid: 1000)));
        Assert.Equal(action, document.Action.Name);
        Assert.Equal(types, document.Action.Types);
        Assert.Equal($"Process cron (PID: 42) by user alice {verb}", document.Message);
    }

    [Fact]
    public void KilledProcessHasExitCodeZeroAndTheSignal()
    {
        var report = Report(ProcessEvents.Exit, Sample(42, 1, 100, "sleep"), ExitStatus.FromWaitStatus(9));
        using var json = Write(_mapper.Map(report));
        var process = json.RootElement.GetProperty("process");
        Assert.Equal(0, process.GetProperty("exit_code").GetInt32());
        Assert.Equal(9, process.GetProperty("exit_signal").GetInt32());
    }

    [Fact]
    public void UnknownUserIsLeftOutOfTheMessageAndIdsStayStrings()
    {
        var document = _mapper.Map(Report(ProcessEvents.Fork, Sample(42, 1, 100, "daemon", uid: 4242, gid: 4242)));
        Assert.Equal("Process daemon (PID: 42) STARTED", document.Message);
        using var json = Write(document);
        var user = json.RootElement.GetProperty("user");
        Assert.Equal("4242", user.GetProperty("id").GetString());
        Assert.False(user.TryGetProperty("name", out _));
        Assert.False(user.GetProperty("group").TryGetProperty("name", out _));
    }

    [Fact]
    public void ErrorsBecomeErrorMessageAndTheErrorFormOfTheMessage()
    {
        var sample = Sample(42, 1, 100, "sh");
        sample.Executable = null;
        sample.AddError("cannot read /proc/42/exe: process exited");
        var report = Report(ProcessEvents.Exec, sample, errors: sample.Errors);
        var document = _mapper.Map(report);
        document.AddHash(new ExecutableDigest("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"));

        using var json = Write(document);
        var root = json.RootElement;
        Assert.Equal("ERROR for PID 42: cannot read /proc/42/exe: process exited", root.GetProperty("message").GetString());
        Assert.Equal("cannot read /proc/42/exe: process exited", root.GetProperty("error").GetProperty("message").GetString());
        Assert.False(root.GetProperty("process").TryGetProperty("executable", out _));
        Assert.Equal("da39a3ee5e6b4b0d3255bfef95601890afd80709", root.GetProperty("process").GetProperty("hash").GetProperty("sha1").GetString());
    }

    [Fact]
    public void WhatCouldNotBeReadIsLeftOut()
    {
        var facts = ProcessFacts.ForPid(77);
        facts.ParentPid = 1;
        var document = _mapper.Map(new ProcessReport { Events = ProcessEvents.Exit, Timestamp = When, Facts = facts });
        using var json = Write(document);
        Assert.Equal(new[] { "process", "message" }, Names(json.RootElement));
        Assert.Equal(new[] { "pid", "parent" }, Names(json.RootElement.GetProperty("process")));
        Assert.Equal("Process  (PID: 77) STOPPED", document.Message);
    }

    [Fact]
    public void CommandLinesAreTheQuotedArgsAndACutCommandLineIsWhatWasKept()
    {
        var sample = Sample(42, 1, 100, "sh", new[] { "/bin/sh", "-c", "echo 'hi there'\nexit 3" });
        var facts = ProcessFacts.FromSample(sample);
        var report = new ProcessReport
        {
            Events = ProcessEvents.Exec,
            Timestamp = When,
            Facts = facts,
            Parent = new ParentSummary(1, "bash", "/usr/bin/bash", new[] { "bash", "--login", "" }, true, 1000),
        };

        using var json = Write(_mapper.Map(report));
        var process = json.RootElement.GetProperty("process");
        Assert.Equal("/bin/sh -c 'echo '\\''hi there'\\''\nexit 3'", process.GetProperty("command_line").GetString());
        Assert.Equal("bash --login ''", process.GetProperty("parent").GetProperty("command_line").GetString());

        var cut = new ProcessDocument
        {
            Action = ProcessAction.For(ProcessEvents.Exec),
            Timestamp = When,
            Pid = 43,
            Args = new[] { "/usr/bin/python3", "-c", "print(1)" },
            ArgsTruncated = true,
        };
        using var cutJson = Write(cut);
        Assert.Equal("/usr/bin/python3 -c 'print(1)'", cutJson.RootElement.GetProperty("process").GetProperty("command_line").GetString());
        Assert.False(cutJson.RootElement.GetProperty("process").TryGetProperty("args_count", out _));
    }

    [Fact]
    public void AProcessWithoutArgsHasNoCommandLine()
    {
        using var json = Write(new ProcessDocument { Action = ProcessAction.For(ProcessEvents.Fork), Timestamp = When, Pid = 2, Args = Array.Empty<string>() });
        Assert.False(json.RootElement.GetProperty("process").TryGetProperty("command_line", out _));
    }

    [Fact]
    public void NonInteractiveProcessHasNoTtyButSaysSo()
    {
        using var json = Write(_mapper.Map(Report(ProcessEvents.Fork, Sample(42, 1, 100, "cron"))));
        var process = json.RootElement.GetProperty("process");
        Assert.False(process.GetProperty("interactive").GetBoolean());
        Assert.False(process.TryGetProperty("tty", out _));
    }

    [Fact]
    public void StateReportCarriesKindAndId()
    {
        var report = new ProcessReport
        {
            Events = ProcessEvents.Snapshot,
            Kind = EventKind.State,
            StateId = "abc",
            Timestamp = When,
            Facts = ProcessFacts.FromSample(Sample(42, 1, 100, "cron")),
        };
        var evt = _mapper.Map(report).ToEvent();
        Assert.Equal(EventKind.State, evt.Kind);
        Assert.Equal("abc", evt.Id);
        Assert.Equal("existing_process", evt.Action);
    }

    [Fact]
    public void HostileNamesAndHugeCommandLinesRoundTrip()
    {
        var huge = new string('A', 1024 * 1024);
        var sample = Sample(42, 1, 100, "evil) (x\n\"y", new[] { "/tmp/evil", huge, "bad\uFFFDutf8", "" }, "/tmp/evil");
        var document = _mapper.Map(Report(ProcessEvents.Exec, sample));
        using var json = Write(document);
        var process = json.RootElement.GetProperty("process");
        Assert.Equal("evil) (x\n\"y", process.GetProperty("name").GetString());
        Assert.Equal(new[] { "/tmp/evil", huge, "bad\uFFFDutf8", "" }, Strings(process.GetProperty("args")));
        Assert.Equal(4, process.GetProperty("args_count").GetInt32());
        Assert.Equal("Process evil) (x\n\"y (PID: 42) by user root CHANGED IMAGE", json.RootElement.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData((4 << 8) | 1, 4, 1, true)]         // tty1
    [InlineData((4 << 8) | 64, 4, 64, true)]        // ttyS0
    [InlineData((136 << 8) | 0x12 | (0x3 << 20), 136, 0x312, true)] // pts/786: high minor bits
    [InlineData((5 << 8) | 1, 5, 1, false)]         // /dev/console
    public void TtyNumbersDecodeLikeTheKernel(int ttyNr, int major, int minor, bool interactive)
    {
        var tty = TtyDevice.FromTtyNr(ttyNr);
        Assert.Equal(major, tty.Major);
        Assert.Equal(minor, tty.Minor);
        Assert.Equal(interactive, tty.IsInteractive);
    }

    [Fact]
    public void Rfc3339KeepsEveryNanosecond()
    {
        Assert.Equal("1970-01-01T00:00:00.000000001Z", Rfc3339.ToString(1));
        Assert.Equal("2023-11-14T22:13:20.123456789Z", Rfc3339.ToString(1_700_000_000_123_456_789));
        Assert.Equal("1969-12-31T23:59:59.999999999Z", Rfc3339.ToString(-1));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ProcessReport Report(ProcessEvents events, global::Shipper.Module.System.Process.ProcessSample sample, ExitStatus exit = default, List<string>? errors = null) => new()
    {
        Events = events,
        Timestamp = When,
        Facts = ProcessFacts.FromSample(sample),
        Exit = exit,
        EndTime = (events & ProcessEvents.Exit) != 0 ? When : null,
        Errors = errors,
    };

    private static JsonDocument Write(ProcessDocument document)
    {
        var buffer = new global::System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            document.WriteFields(writer);
            writer.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.WrittenMemory);
    }

    private static string[] Names(JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToArray();

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();
}
