using Shipper.Module.System.Process;
using Shipper.Module.System.Process.Hashing;

namespace Shipper.Module.Registry;

/// <summary>The datasets this build ships with.</summary>
public static class BuiltInDatasets
{
    public static DatasetRegistry Create()
    {
        var registry = new DatasetRegistry();
        registry.Register("system", "process", static context =>
        {
            var hashes = ExecutableHashSource.Create(context);
            if (hashes is not null)
            {
                foreach (var unsupported in hashes.Settings.UnsupportedTypes())
                {
                    context.Warnings.Add($"process.hash.hash_types: {unsupported.Name} is not available on this platform ({unsupported.Reason}); documents will not carry it");
                }
            }

            return new ProcessDataset(context) { Hashes = hashes };
        });
        return registry;
    }
}
