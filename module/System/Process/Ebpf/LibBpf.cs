using global::System.Runtime.InteropServices;

namespace Shipper.Module.System.Process.Ebpf;

/// <summary>
/// The libbpf (<c>libbpf.so.1</c>, Debian's <c>libbpf1</c>) calls the eBPF backend needs: open an object from
/// memory, size its maps, load it (CO-RE relocation against the running kernel's BTF happens here), attach its
/// programs, and read its ring buffer. libbpf 1.x returns negative errnos or NULL with errno set.
/// </summary>
internal static unsafe partial class LibBpf
{
    private const string Library = "libbpf.so.1";

    [LibraryImport(Library, EntryPoint = "bpf_object__open_mem", SetLastError = true)]
    public static partial nint ObjectOpenMem(byte* buffer, nuint size, nint options);

    [LibraryImport(Library, EntryPoint = "bpf_object__load")]
    public static partial int ObjectLoad(nint obj);

    [LibraryImport(Library, EntryPoint = "bpf_object__close")]
    public static partial void ObjectClose(nint obj);

    [LibraryImport(Library, EntryPoint = "bpf_object__find_map_by_name")]
    public static partial nint FindMapByName(nint obj, byte* name);

    [LibraryImport(Library, EntryPoint = "bpf_object__next_map")]
    public static partial nint NextMap(nint obj, nint previous);

    [LibraryImport(Library, EntryPoint = "bpf_object__next_program")]
    public static partial nint NextProgram(nint obj, nint previous);

    [LibraryImport(Library, EntryPoint = "bpf_map__name")]
    public static partial byte* MapName(nint map);

    [LibraryImport(Library, EntryPoint = "bpf_map__set_max_entries")]
    public static partial int MapSetMaxEntries(nint map, uint maxEntries);

    [LibraryImport(Library, EntryPoint = "bpf_map__set_value_size")]
    public static partial int MapSetValueSize(nint map, uint size);

    [LibraryImport(Library, EntryPoint = "bpf_map__initial_value")]
    public static partial byte* MapInitialValue(nint map, nuint* size);

    [LibraryImport(Library, EntryPoint = "bpf_map__fd")]
    public static partial int MapFd(nint map);

    [LibraryImport(Library, EntryPoint = "bpf_program__name")]
    public static partial byte* ProgramName(nint program);

    [LibraryImport(Library, EntryPoint = "bpf_program__attach", SetLastError = true)]
    public static partial nint ProgramAttach(nint program);

    [LibraryImport(Library, EntryPoint = "bpf_link__destroy")]
    public static partial int LinkDestroy(nint link);

    [LibraryImport(Library, EntryPoint = "bpf_map_lookup_elem", SetLastError = true)]
    public static partial int MapLookup(int fd, void* key, void* value);

    [LibraryImport(Library, EntryPoint = "ring_buffer__new", SetLastError = true)]
    public static partial nint RingBufferNew(int mapFd, delegate* unmanaged<nint, byte*, nuint, int> sample, nint context, nint options);

    /// <summary>Waits up to <paramref name="timeoutMs"/> and consumes every record there is: the count, or a negative errno.</summary>
    [LibraryImport(Library, EntryPoint = "ring_buffer__poll")]
    public static partial int RingBufferPoll(nint ring, int timeoutMs);

    /// <summary>Consumes every record there is without waiting (also those written without a wake-up).</summary>
    [LibraryImport(Library, EntryPoint = "ring_buffer__consume")]
    public static partial int RingBufferConsume(nint ring);

    [LibraryImport(Library, EntryPoint = "ring_buffer__free")]
    public static partial void RingBufferFree(nint ring);

    [LibraryImport(Library, EntryPoint = "libbpf_num_possible_cpus")]
    public static partial int NumPossibleCpus();

    [LibraryImport(Library, EntryPoint = "libbpf_set_print")]
    public static partial nint SetPrint(delegate* unmanaged<int, byte*, nint, int> print);

    /// <summary>libc's vsnprintf: formats libbpf's messages (printf format and va_list) for our log.</summary>
    [LibraryImport("libc", EntryPoint = "vsnprintf")]
    public static partial int VsnPrintf(byte* buffer, nuint size, byte* format, nint arguments);

    public static string? Text(byte* s) => s is null ? null : Marshal.PtrToStringUTF8((nint)s);
}
