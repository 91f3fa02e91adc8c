using Shipper.Module.System.Process;

namespace Shipper.Module.Registry;

/// <summary>The datasets this build ships with.</summary>
public static class BuiltInDatasets
{
    public static DatasetRegistry Create()
    {
        var registry = new DatasetRegistry();
        registry.Register("system", "process", static context => new ProcessDataset(context));
        return registry;
    }
}
