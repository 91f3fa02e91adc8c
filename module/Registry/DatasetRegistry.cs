using Shipper.Module.Config;

namespace Shipper.Module.Registry;

/// <summary>
/// Datasets by <c>module/dataset</c> name. The registry only creates datasets; it knows nothing of outputs.
/// </summary>
public sealed class DatasetRegistry
{
    private readonly SortedDictionary<string, DatasetFactory> _factories = new(StringComparer.Ordinal);

    public IEnumerable<string> Names => _factories.Keys;

    public IEnumerable<string> Modules
    {
        get
        {
            var seen = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var name in _factories.Keys)
            {
                seen.Add(name[..name.IndexOf('/')]);
            }

            return seen;
        }
    }

    public void Register(string module, string dataset, DatasetFactory factory)
    {
        var name = module + "/" + dataset;
        if (!_factories.TryAdd(name, factory))
        {
            throw new InvalidOperationException($"dataset {name} is registered twice");
        }
    }

    public bool Contains(string module, string dataset) => _factories.ContainsKey(module + "/" + dataset);

    /// <summary>
    /// Creates every dataset a module entry enables. Unknown names are config errors that list what is known.
    /// </summary>
    public IDataset Create(string module, string dataset, DatasetContext context, ConfigNode where)
    {
        if (!Modules.Contains(module))
        {
            throw where.Error($"unknown module '{module}'; known modules: {string.Join(", ", Modules)}");
        }

        if (!_factories.TryGetValue(module + "/" + dataset, out var factory))
        {
            throw where.Error($"unknown dataset '{dataset}' of module '{module}'; known datasets: {string.Join(", ", Names)}");
        }

        return factory(context);
    }
}
