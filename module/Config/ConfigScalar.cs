namespace Shipper.Module.Config;

/// <summary>
/// A scalar as written. <see cref="IsQuoted"/> keeps YAML's rule that a quoted scalar is always a string,
/// while a plain one may be a bool, number or null.
/// </summary>
public sealed class ConfigScalar : ConfigNode
{
    public ConfigScalar(string path, SourceLocation location, string value, bool isQuoted)
        : base(path, location)
    {
        Value = value;
        IsQuoted = isQuoted;
    }

    /// <summary>As written until <c>${...}</c> references are expanded, once, after the overrides are applied.</summary>
    public string Value { get; set; }

    public bool IsQuoted { get; }

    public bool IsNull => !IsQuoted && (Value.Length == 0 || Value is "~" or "null" or "Null" or "NULL");

    public override string KindName => "a scalar";
}
