using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary>One item of <c>shipper.modules</c>: a module with the datasets it enables and their settings.</summary>
public sealed record ModuleEntry(string Module, IReadOnlyList<string> Datasets, bool Enabled, ConfigSection Section);
