using global::System.Globalization;
using global::System.Runtime.InteropServices;

namespace Shipper.Module.System.Process.Ebpf;

/// <summary>
/// Why the eBPF backend cannot run on this host, in words a user can act on (<c>process.backend: auto</c> logs
/// it when it falls back): no BTF, no libbpf, missing CAP_BPF/CAP_PERFMON, kernel lockdown, or a kernel too old
/// for what the program uses (BTF tracepoints 5.5, ring buffers 5.8, bpf_loop 5.17).
/// </summary>
internal static class EbpfSupport
{
    public const string KernelBtfPath = "/sys/kernel/btf/vmlinux";
    private const string LockdownPath = "/sys/kernel/security/lockdown";
    private const int CapSysAdmin = 21;
    private const int CapPerfmon = 38;
    private const int CapBpf = 39;
    private const int EPERM = 1;
    private const int EACCES = 13;

    /// <summary>The oldest kernel the program is written for (bpf_loop).</summary>
    public static readonly Version MinimumKernel = new(5, 17);

    /// <summary>Throws <see cref="EbpfException"/> when a load cannot work here, before trying one.</summary>
    public static void CheckBeforeLoad()
    {
        if (!File.Exists(KernelBtfPath))
        {
            throw new EbpfException($"the kernel has no BTF ({KernelBtfPath} is missing; it needs CONFIG_DEBUG_INFO_BTF=y), so the CO-RE program cannot be relocated");
        }

        if (KernelVersion() is { } version && version < MinimumKernel)
        {
            throw new EbpfException($"kernel {version} is too old: the eBPF program needs {MinimumKernel} or later (BTF tracepoints, ring buffer, bpf_loop)");
        }

        if (UserNamespace() is { } userNamespace)
        {
            throw new EbpfException(userNamespace, EPERM);
        }

        if (MissingCapability() is { } missing)
        {
            throw new EbpfException(missing, EPERM);
        }

        try
        {
            _ = LibBpf.NumPossibleCpus();
        }
        catch (DllNotFoundException)
        {
            throw new EbpfException("libbpf.so.1 is not installed (Debian package libbpf1)");
        }
        catch (EntryPointNotFoundException ex)
        {
            throw new EbpfException($"the installed libbpf is too old (libbpf 1.0 or later is needed): {ex.Message}");
        }
    }

    /// <summary>The exception for a failed open or load, with the verifier's log when there is one.</summary>
    public static EbpfException Explain(string failure, int errno, string log)
    {
        var reason = errno is EPERM or EACCES
            ? Lockdown() is { } mode
                ? $"kernel lockdown ({mode}) forbids the eBPF program"
                : UserNamespace() ?? MissingCapability() ?? $"permission denied ({Marshal.GetPInvokeErrorMessage(errno)})"
            : Marshal.GetPInvokeErrorMessage(errno);
        var message = $"{failure}: {reason}";
        var detail = log.Trim();
        if (detail.Length > 0)
        {
            message += $"\nlibbpf and the verifier said:\n{detail}";
        }

        return new EbpfException(message, errno);
    }

    /// <summary>What is missing for loading and attaching tracing programs, or null: CAP_BPF with CAP_PERFMON, or CAP_SYS_ADMIN.</summary>
    public static string? MissingCapability()
    {
        if (EffectiveCapabilities() is not { } caps)
        {
            return null;
        }

        bool Has(int capability) => (caps & (1UL << capability)) != 0;
        if (Has(CapSysAdmin) || (Has(CapBpf) && Has(CapPerfmon)))
        {
            return null;
        }

        var missing = new List<string>(2);
        if (!Has(CapBpf))
        {
            missing.Add("CAP_BPF");
        }

        if (!Has(CapPerfmon))
        {
            missing.Add("CAP_PERFMON");
        }

        return $"the process lacks {string.Join(" and ", missing)} (or CAP_SYS_ADMIN), which loading and attaching tracing programs needs";
    }

    /// <summary>
    /// Why capabilities do not count, when this process runs in a user namespace other than the initial one: the
    /// kernel checks CAP_BPF and CAP_PERFMON against the initial namespace, so root in a container's namespace is
    /// refused. Null in the initial namespace (its uid_map maps all 2^32 ids from 0 to 0).
    /// </summary>
    public static string? UserNamespace(string uidMapPath = "/proc/self/uid_map")
    {
        try
        {
            var fields = File.ReadAllText(uidMapPath).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields is ["0", "0", "4294967295"])
            {
                return null;
            }

            return $"the process runs in a user namespace (uid_map: {string.Join(' ', fields)}), where capabilities do not allow BPF: the kernel wants CAP_BPF and CAP_PERFMON in the initial one";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The lockdown mode when it is one that forbids reading kernel memory from BPF (confidentiality).</summary>
    private static string? Lockdown()
    {
        try
        {
            var text = File.ReadAllText(LockdownPath);
            return text.Contains("[confidentiality]", StringComparison.Ordinal) ? "confidentiality" : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static ulong? EffectiveCapabilities()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                    && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var caps))
                {
                    return caps;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static Version? KernelVersion()
    {
        try
        {
            var release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
            var end = 0;
            var dots = 0;
            while (end < release.Length && (char.IsAsciiDigit(release[end]) || (release[end] == '.' && ++dots < 3)))
            {
                end++;
            }

            return Version.TryParse(release.AsSpan(0, end).TrimEnd('.'), out var version) ? version : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
