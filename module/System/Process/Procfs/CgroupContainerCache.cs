using Shipper.Module.Containers;

namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// The container each distinct <c>/proc/&lt;pid&gt;/cgroup</c> content names, so the file is parsed once per
/// content rather than once per process: a host has few distinct contents (one per service, session and
/// container) and most processes share them. Looked up by the bytes just read, so a known content costs a hash
/// and a compare and allocates nothing. At most <see cref="Capacity"/> contents are kept; past that the cache
/// starts over (a host churning through that many cgroups pays one parse per process for a while).
/// Not thread-safe: one per <see cref="ProcReader"/>.
/// </summary>
public sealed class CgroupContainerCache
{
    public const int Capacity = 4096;

    /// <summary>Longer contents are parsed every time rather than kept (a process nested absurdly deep).</summary>
    public const int MaxKeyBytes = 4096;

    private readonly Dictionary<byte[], ContainerIdentity?> _byContent = new(ByteContentComparer.Instance);
    private readonly Dictionary<string, ContainerIdentity> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<byte[], ContainerIdentity?>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public CgroupContainerCache()
    {
        _lookup = _byContent.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int Count => _byContent.Count;

    /// <summary>Parses (or finds) what <paramref name="cgroupFile"/> names; null when it names no container.</summary>
    public ContainerIdentity? Find(ReadOnlySpan<byte> cgroupFile)
    {
        if (cgroupFile.Length > MaxKeyBytes)
        {
            return CgroupContainerParser.Parse(cgroupFile);
        }

        if (_lookup.TryGetValue(cgroupFile, out var known))
        {
            return known;
        }

        if (_byContent.Count >= Capacity)
        {
            _byContent.Clear();
            _byId.Clear();
        }

        var identity = FindShared(CgroupContainerParser.Parse(cgroupFile));
        _byContent.Add(cgroupFile.ToArray(), identity);
        return identity;
    }

    /// <summary>Processes of one container in different cgroup contents (v1 moves) still share one identity.</summary>
    private ContainerIdentity? FindShared(ContainerIdentity? parsed)
    {
        if (parsed is null)
        {
            return null;
        }

        if (_byId.TryGetValue(parsed.Id, out var known) && known.Runtime == parsed.Runtime)
        {
            return known;
        }

        _byId[parsed.Id] = parsed;
        return parsed;
    }

    private sealed class ByteContentComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly ByteContentComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
