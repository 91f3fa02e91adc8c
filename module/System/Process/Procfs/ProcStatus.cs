namespace Shipper.Module.System.Process.Procfs;

/// <summary>
/// The identity lines of <c>/proc/&lt;pid&gt;/status</c>: <c>Uid:</c>/<c>Gid:</c> (real, effective, saved,
/// filesystem) and the effective/permitted capability sets.
/// </summary>
public readonly record struct ProcStatus(
    uint RealUid,
    uint EffectiveUid,
    uint SavedUid,
    uint FsUid,
    uint RealGid,
    uint EffectiveGid,
    uint SavedGid,
    uint FsGid,
    ulong CapEffective,
    ulong CapPermitted,
    bool HasCapabilities)
{
    public uint[] UidArray() => [RealUid, EffectiveUid, SavedUid, FsUid];

    public uint[] GidArray() => [RealGid, EffectiveGid, SavedGid, FsGid];
}
