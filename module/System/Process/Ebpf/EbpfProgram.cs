using global::System.Runtime.InteropServices;
using global::System.Text;

namespace Shipper.Module.System.Process.Ebpf;

/// <summary>
/// The process programs loaded into the kernel and attached: libbpf opens the embedded object, relocates it
/// against this kernel's BTF (CO-RE), sizes its maps from the settings, loads it past the verifier and attaches
/// each program to its BTF tracepoint (no tracefs needed). Records then arrive in the ring buffer, read with
/// <see cref="Poll"/>; what did not fit is counted in the kernel and read with <see cref="ReadLost"/>.
/// </summary>
internal sealed unsafe class EbpfProgram : IDisposable
{
    /// <summary>The object the build compiled from process.bpf.c, embedded in this assembly.</summary>
    public const string ResourceName = "process.bpf.o";

    /// <summary>The SHA-256 (hex) of the process.bpf.c the embedded object was built from.</summary>
    public const string SourceHashResourceName = "process.bpf.c.sha256";

    private nint _object;
    private readonly List<nint> _links = new();
    private nint _ring;
    private int _lostFd = -1;
    private int _cpus;
    private ulong[] _lostPerCpu = Array.Empty<ulong>();

    private EbpfProgram()
    {
    }

    /// <summary>What libbpf printed while loading (warnings; empty when all went well).</summary>
    public string LoadLog { get; private set; } = "";

    /// <summary>The programs attached, by name.</summary>
    public IReadOnlyList<string> Programs { get; private set; } = Array.Empty<string>();

    public static byte[] EmbeddedObject()
    {
        using var stream = typeof(EbpfProgram).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new EbpfException($"the eBPF program ({ResourceName}) is not embedded in this build");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    public static string EmbeddedSourceHash()
    {
        using var stream = typeof(EbpfProgram).Assembly.GetManifestResourceStream(SourceHashResourceName)
            ?? throw new EbpfException($"{SourceHashResourceName} is not embedded in this build");
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return reader.ReadToEnd().Trim();
    }

    /// <summary>
    /// Opens, sizes, loads and attaches; ring buffer records go to <paramref name="onRecord"/> (called on the thread
    /// that calls <see cref="Poll"/>, with a context of <paramref name="context"/>). Throws <see cref="EbpfException"/>
    /// saying why when the kernel or libbpf refuses, with the verifier's log when the verifier did.
    /// </summary>
    public static EbpfProgram Load(
        byte[] objectBytes,
        int maxArgsBytes,
        long ringBufferBytes,
        delegate* unmanaged<nint, byte*, nuint, int> onRecord,
        nint context)
    {
        EbpfSupport.CheckBeforeLoad();
        var program = new EbpfProgram();
        try
        {
            int error = 0;
            string? failure = null;
            program.LoadLog = LibBpfLog.Capture(() => error = program.OpenAndLoad(objectBytes, maxArgsBytes, ringBufferBytes, out failure));
            if (error != 0)
            {
                throw EbpfSupport.Explain(failure!, error, program.LoadLog);
            }

            program.Attach();
            program._ring = LibBpf.RingBufferNew(program.MapFd("events"), onRecord, context, 0);
            if (program._ring == 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new EbpfException($"cannot open the eBPF ring buffer: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }

            return program;
        }
        catch
        {
            program.Dispose();
            throw;
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for records and hands each on; the count, or a negative errno.</summary>
    public int Poll(int timeoutMs) => LibBpf.RingBufferPoll(_ring, timeoutMs);

    /// <summary>Hands on every record there is now, without waiting: the count, or a negative errno.</summary>
    public int Consume() => LibBpf.RingBufferConsume(_ring);

    /// <summary>Records the kernel could not put in the ring buffer since the load (all CPUs).</summary>
    public long ReadLost()
    {
        uint key = 0;
        fixed (ulong* values = _lostPerCpu)
        {
            if (LibBpf.MapLookup(_lostFd, &key, values) != 0)
            {
                return -1;
            }
        }

        ulong total = 0;
        for (var i = 0; i < _cpus; i++)
        {
            total += _lostPerCpu[i];
        }

        return (long)total;
    }

    public void Dispose()
    {
        if (_ring != 0)
        {
            LibBpf.RingBufferFree(_ring);
            _ring = 0;
        }

        foreach (var link in _links)
        {
            LibBpf.LinkDestroy(link);
        }

        _links.Clear();
        if (_object != 0)
        {
            LibBpf.ObjectClose(_object);
            _object = 0;
        }
    }

    private int OpenAndLoad(byte[] objectBytes, int maxArgsBytes, long ringBufferBytes, out string? failure)
    {
        fixed (byte* bytes = objectBytes)
        {
            _object = LibBpf.ObjectOpenMem(bytes, (nuint)objectBytes.Length, 0);
        }

        if (_object == 0)
        {
            failure = "libbpf cannot open the eBPF object";
            return Marshal.GetLastPInvokeError();
        }

        _cpus = LibBpf.NumPossibleCpus();
        if (_cpus <= 0)
        {
            failure = "libbpf cannot count the possible CPUs";
            return -_cpus;
        }

        _lostPerCpu = new ulong[_cpus];
        var scratch = Map("scratch");
        var error = -LibBpf.MapSetMaxEntries(scratch, (uint)_cpus);
        if (error == 0)
        {
            error = -LibBpf.MapSetValueSize(scratch, (uint)(EbpfRecord.HeaderSize + EbpfRecord.PathsSize + maxArgsBytes));
        }

        if (error == 0)
        {
            error = -LibBpf.MapSetMaxEntries(Map("events"), (uint)ringBufferBytes);
        }

        if (error != 0)
        {
            failure = "cannot size the eBPF maps";
            return error;
        }

        SetMaxArgsBytes((uint)maxArgsBytes);
        error = -LibBpf.ObjectLoad(_object);
        if (error != 0)
        {
            failure = "the kernel refused the eBPF program";
            return error;
        }

        _lostFd = LibBpf.MapFd(Map("lost"));
        failure = null;
        return 0;
    }

    /// <summary>
    /// <c>max_args_bytes</c> is the only variable in the object's <c>.rodata</c> (offset 0); the kernel freezes that
    /// map at load, so the verifier knows the value and can prove the argument copy stays in bounds.
    /// </summary>
    private void SetMaxArgsBytes(uint value)
    {
        for (var map = LibBpf.NextMap(_object, 0); map != 0; map = LibBpf.NextMap(_object, map))
        {
            if (LibBpf.Text(LibBpf.MapName(map)) is { } name && name.EndsWith(".rodata", StringComparison.Ordinal))
            {
                nuint size;
                var data = LibBpf.MapInitialValue(map, &size);
                if (data is null || size < sizeof(uint))
                {
                    throw new EbpfException("the eBPF object's .rodata is not where max_args_bytes is expected");
                }

                *(uint*)data = value;
                return;
            }
        }

        throw new EbpfException("the eBPF object has no .rodata map for max_args_bytes");
    }

    private void Attach()
    {
        var names = new List<string>();
        for (var program = LibBpf.NextProgram(_object, 0); program != 0; program = LibBpf.NextProgram(_object, program))
        {
            var name = LibBpf.Text(LibBpf.ProgramName(program)) ?? "?";
            var link = LibBpf.ProgramAttach(program);
            if (link == 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new EbpfException($"cannot attach the eBPF program {name} to its tracepoint: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }

            _links.Add(link);
            names.Add(name);
        }

        Programs = names;
    }

    private nint Map(string name)
    {
        var bytes = Encoding.ASCII.GetBytes(name + "\0");
        fixed (byte* n = bytes)
        {
            var map = LibBpf.FindMapByName(_object, n);
            return map != 0 ? map : throw new EbpfException($"the eBPF object has no map {name}");
        }
    }

    private int MapFd(string name) => LibBpf.MapFd(Map(name));
}
