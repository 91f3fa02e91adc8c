namespace Shipper.IndexManagement;

/// <summary>What one <see cref="IndexSetupOnConnect.EnsureAsync"/> did; null where that part was not asked for.</summary>
public readonly record struct IndexSetupOutcome(IlmPolicyLoadResult? Policy, TemplateLoadResult? Template);
