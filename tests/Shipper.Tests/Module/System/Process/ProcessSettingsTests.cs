using Shipper.Module.Config;
using Shipper.Module.System.Process;

namespace Shipper.Tests.Module.System.Process;

public class ProcessSettingsTests
{
    [Fact]
    public void DefaultsMatchTheDocumentation()
    {
        var (section, tracker, root) = Section();
        var settings = ProcessSettings.Parse(section);
        Assert.Null(settings.Period);
        Assert.Equal(TimeSpan.FromHours(12), settings.StatePeriod);
        Assert.Equal(ProcessBackend.Auto, settings.Backend);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.HoldTime);
        Assert.Equal(65_536, settings.MaxTracked);
        Assert.Equal(TimeSpan.FromSeconds(4), settings.CacheGraceTime);
        Assert.Equal(4L * 1024 * 1024, settings.NetlinkReceiveBuffer);
        Assert.True(settings.NetlinkRealtime);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.ProcfsPeriod);
        Assert.Equal(128 * 1024, settings.MaxArgsBytes);
        Assert.Equal(16 * 1024, settings.EbpfMaxArgsBytes);
        Assert.Equal(8L * 1024 * 1024, settings.EbpfRingBufferBytes);
        tracker.EnsureAllConsumed(root);
    }

    [Fact]
    public void ReadsEveryKeyAndMarksItKnown()
    {
        var (section, tracker, root) = Section(
            ("state.period", "30m"),
            ("process.backend", "procfs"),
            ("process.hold_time", "250ms"),
            ("process.max_tracked", "1024"),
            ("process.cache_grace_time", "2s"),
            ("process.netlink.receive_buffer", "16 MiB"),
            ("process.netlink.realtime", "false"),
            ("process.netlink.kernel_filter", "false"),
            ("process.netlink.fork_sample", "full"),
            ("process.procfs.period", "500ms"),
            ("process.max_args_bytes", "1 MiB"),
            ("process.ebpf.max_args_bytes", "64 KiB"),
            ("process.ebpf.ring_buffer_size", "32 MiB"));
        var settings = ProcessSettings.Parse(section);
        Assert.Null(settings.Period);
        Assert.Equal(TimeSpan.FromMinutes(30), settings.StatePeriod);
        Assert.Equal(ProcessBackend.Procfs, settings.Backend);
        Assert.Equal(TimeSpan.FromMilliseconds(250), settings.HoldTime);
        Assert.Equal(1024, settings.MaxTracked);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.CacheGraceTime);
        Assert.Equal(16L * 1024 * 1024, settings.NetlinkReceiveBuffer);
        Assert.False(settings.NetlinkRealtime);
        Assert.False(settings.NetlinkKernelFilter);
        Assert.True(settings.NetlinkFullForkSample);
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.ProcfsPeriod);
        Assert.Equal(1024 * 1024, settings.MaxArgsBytes);
        Assert.Equal(64 * 1024, settings.EbpfMaxArgsBytes);
        Assert.Equal(32L * 1024 * 1024, settings.EbpfRingBufferBytes);
        tracker.EnsureAllConsumed(root);
    }

    [Fact]
    public void PeriodIsThePollIntervalOfTheProcfsBackend()
    {
        var (section, tracker, root) = Section(("period", "10s"), ("process.backend", "procfs"));
        var settings = ProcessSettings.Parse(section);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.Period);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.ProcfsPeriod);
        Assert.Empty(settings.Warnings);
        tracker.EnsureAllConsumed(root);
    }

    [Theory]
    [InlineData("netlink", "has no effect with process.backend netlink")]
    [InlineData("kernel_tracing", "has no effect with process.backend kernel_tracing")]
    [InlineData("ebpf", "has no effect with process.backend ebpf")]
    [InlineData("auto", "only if process.backend auto falls back to procfs")]
    public void PeriodWithAPushedBackendIsAWarningNamingWhere(string backend, string warning)
    {
        var settings = ProcessSettings.Parse(Section(("period", "10s"), ("process.backend", backend)).Section);
        var line = Assert.Single(settings.Warnings);
        Assert.Contains("system.period (", line);
        Assert.Contains("modules.yml:7:3", line);
        Assert.Contains(warning, line);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.ProcfsPeriod); // what auto falls back to
    }

    [Fact]
    public void ARingBufferTooSmallForTheLargestExecRecordsIsAWarning()
    {
        var settings = ProcessSettings.Parse(Section(("process.ebpf.ring_buffer_size", "64 KiB"), ("process.ebpf.max_args_bytes", "64 KiB")).Section);
        var line = Assert.Single(settings.Warnings);
        Assert.Contains("system.process.ebpf.ring_buffer_size (modules.yml:7:3) holds fewer than four of the largest exec records", line);
        Assert.Empty(ProcessSettings.Parse(Section(("process.ebpf.ring_buffer_size", "1 MiB")).Section).Warnings);
    }

    [Fact]
    public void PeriodAndProcfsPeriodTogetherAreAnError()
    {
        var ex = Assert.Throws<ConfigException>(() => ProcessSettings.Parse(Section(("period", "10s"), ("process.procfs.period", "2s")).Section));
        Assert.Equal("system.period", ex.Path);
        Assert.Contains("keep one", ex.Message);
    }

    [Theory]
    [InlineData("kernel_tracing", ProcessBackend.KernelTracing)]
    [InlineData("ebpf", ProcessBackend.Ebpf)]
    [InlineData("netlink", ProcessBackend.Netlink)]
    [InlineData("procfs", ProcessBackend.Procfs)]
    [InlineData("AUTO", ProcessBackend.Auto)]
    public void AcceptsAuditbeatBackendNames(string value, ProcessBackend expected) =>
        Assert.Equal(expected, ProcessSettings.Parse(Section(("process.backend", value)).Section).Backend);

    [Theory]
    [InlineData("process.backend", "bpf", "'bpf' is not one of: auto, ebpf, kernel_tracing, netlink, procfs")]
    [InlineData("process.ebpf.max_args_bytes", "1kb", "1kb is out of range")]
    [InlineData("process.ebpf.max_args_bytes", "2mb", "2mb is out of range")]
    [InlineData("process.ebpf.ring_buffer_size", "3 MiB", "must be a power of two (the kernel's ring buffer is), e.g. 8MiB; 3145728 bytes is not")]
    [InlineData("process.ebpf.ring_buffer_size", "2kb", "2kb is out of range")]
    [InlineData("process.max_tracked", "10", "10 is out of range: must be between 64 and 4194304")]
    [InlineData("process.hold_time", "1m", "1m is out of range")]
    [InlineData("process.netlink.receive_buffer", "1kb", "1kb is out of range")]
    [InlineData("process.procfs.period", "10ms", "10ms is out of range")]
    [InlineData("period", "10ms", "10ms is out of range")]
    [InlineData("state.period", "soon", "expected a duration")]
    [InlineData("process.netlink.realtime", "maybe", "expected true or false")]
    public void RejectsBadValuesNamingTheKeyAndWhere(string key, string value, string problem)
    {
        var ex = Assert.Throws<ConfigException>(() => ProcessSettings.Parse(Section((key, value)).Section));
        Assert.Equal("system." + key, ex.Path);
        Assert.Contains(problem, ex.Message);
        Assert.Contains("modules.yml:7:3", ex.Message);
    }

    [Fact]
    public void UnknownProcessKeysStayUnknown()
    {
        var (section, tracker, root) = Section(("process.hold_tme", "1s"));
        ProcessSettings.Parse(section);
        var ex = Assert.Throws<ConfigException>(() => tracker.EnsureAllConsumed(root));
        Assert.Contains("unknown setting 'system.process.hold_tme'", ex.Message);
    }

    /// <summary>Builds the module entry as the YAML loader would (dotted keys split into nested maps).</summary>
    private static (ConfigSection Section, ConfigReadTracker Tracker, ConfigMap Root) Section(params (string Key, string Value)[] entries)
    {
        var root = new ConfigMap("system", new SourceLocation("modules.yml", 1, 1));
        foreach (var (key, value) in entries)
        {
            var map = root;
            var parts = key.Split('.');
            for (var i = 0; i < parts.Length - 1; i++)
            {
                if (map.Get(parts[i]) is not ConfigMap next)
                {
                    next = new ConfigMap(map.Path + "." + parts[i], new SourceLocation("modules.yml", 7, 3));
                    map.Set(parts[i], next);
                }

                map = next;
            }

            map.Set(parts[^1], new ConfigScalar(map.Path + "." + parts[^1], new SourceLocation("modules.yml", 7, 3), value, isQuoted: false));
        }

        var tracker = new ConfigReadTracker();
        return (new ConfigSection(root, tracker), tracker, root);
    }
}
