namespace Shipper.IndexManagement;

public enum IlmPolicyLoadResult
{
    /// <summary>The policy was put (it was missing, or <c>setup.ilm.overwrite</c> is true).</summary>
    Created,

    /// <summary>The policy exists and <c>setup.ilm.overwrite</c> is false: left as it is.</summary>
    AlreadyExists,
}
