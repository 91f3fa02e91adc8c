using global::System.Diagnostics;
using global::System.Security.Cryptography;
using Shipper.Module.Logging;
using Shipper.Module.Monitoring;
using Shipper.Module.System.Process.Ebpf;
using Shipper.Tests.Cmd.IndexManagement;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Ebpf;

/// <summary>The BPF object itself: built from the current source, loaded by this kernel, refused with the verifier's reasons.</summary>
public class EbpfProgramTests
{
    [Fact]
    public void TheEmbeddedObjectWasBuiltFromTheCurrentSource()
    {
        // The build compiles process.bpf.c whenever it changes and embeds the source's digest with the object.
        var source = Path.Combine(IndexTemplateBuilderTests.RepoRoot(), "module", "System", "Process", "Ebpf", "process.bpf.c");
        var digest = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(source)));
        Assert.Equal(digest, EbpfProgram.EmbeddedSourceHash());
        var elf = EbpfProgram.EmbeddedObject();
        Assert.Equal(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, elf[..4]);
    }

    [KernelFact]
    public void TheProgramLoadsAndAttachesToTheThreeTracepoints()
    {
        using var source = EbpfProcEventSourceTests.Open(new EbpfSourceOptions { MaxArgsBytes = EbpfSourceOptions.MaxMaxArgsBytes });
        Assert.Equal(new[] { "shipper_fork", "shipper_exec", "shipper_exit" }, source.Programs);
    }

    [KernelFact]
    public void AProgramTheVerifierRefusesFailsWithTheVerifiersLog()
    {
        var broken = RefusedByTheVerifier();
        var source = new EbpfProcEventSource(new EbpfSourceOptions { ObjectOverride = broken }, new MetricsRegistry(), Logger.Null);
        var ex = Assert.Throws<EbpfException>(() => source.Start(CancellationToken.None));
        source.Dispose();
        Assert.StartsWith("the kernel refused the eBPF program: ", ex.Message);
        Assert.Contains("libbpf and the verifier said:", ex.Message);
        Assert.Contains("map_value_or_null", ex.Message); // the verifier's own words for what it refused
        Assert.Contains("refused", ex.Message);
    }

    [Fact]
    public void ARingBufferThatIsNotAPowerOfTwoIsRefusedBeforeAnyLoad()
    {
        var ex = Assert.Throws<EbpfException>(() => EbpfProcEventSource.ValidateRingBuffer(3 * 4096));
        Assert.Contains("power of two", ex.Message);
    }

    [Fact]
    public void AUserNamespaceIsNamedAsTheReasonBpfIsRefused()
    {
        using var directory = new TempDirectory();
        var initial = directory.Combine("initial");
        var nested = directory.Combine("nested");
        File.WriteAllText(initial, "         0          0 4294967295\n");
        File.WriteAllText(nested, "         0       1000          1\n");
        Assert.Null(EbpfSupport.UserNamespace(initial));
        Assert.Contains("runs in a user namespace (uid_map: 0 1000 1)", EbpfSupport.UserNamespace(nested));
    }

    /// <summary>
    /// An object with the maps the loader sizes and one program that uses a hash map's value without checking it for
    /// NULL, which the verifier refuses ("map_value_or_null").
    /// </summary>
    internal static byte[] RefusedByTheVerifier() => BuildBpfObject("refused", """
        #include "vmlinux.h"
        #include <bpf/bpf_helpers.h>
        #include <bpf/bpf_tracing.h>
        char LICENSE[] SEC("license") = "GPL";
        const volatile __u32 max_args_bytes = 16384;
        struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } lost SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __uint(key_size, 4); __uint(value_size, 64); } scratch SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } seen SEC(".maps");
        SEC("tp_btf/sched_process_exec")
        int BPF_PROG(refused, struct task_struct *task)
        {
            __u32 zero = 0;
            __u64 *n = bpf_map_lookup_elem(&seen, &zero);
            *n += max_args_bytes; /* no NULL check */
            return 0;
        }
        """);

    /// <summary>Compiles a BPF C source with the build's vmlinux.h, as the build compiles process.bpf.c.</summary>
    internal static byte[] BuildBpfObject(string name, string text)
    {
        using var directory = new TempDirectory();
        var sourcePath = directory.Combine(name + ".bpf.c");
        var objectPath = directory.Combine(name + ".bpf.o");
        File.WriteAllText(sourcePath, text);
        var headers = Path.Combine(IndexTemplateBuilderTests.RepoRoot(), "module", "obj", "bpf");
        var info = new ProcessStartInfo("clang") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-g", "-O2", "-target", "bpf", "-I", headers, "-c", sourcePath, "-o", objectPath })
        {
            info.ArgumentList.Add(arg);
        }

        using var clang = global::System.Diagnostics.Process.Start(info)!;
        var errors = clang.StandardError.ReadToEnd();
        clang.WaitForExit();
        Assert.True(clang.ExitCode == 0, $"clang failed for {name}: {errors}");
        return File.ReadAllBytes(objectPath);
    }
}
