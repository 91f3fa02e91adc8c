namespace Shipper.Module.Config;

/// <summary>Where a config value came from: a file position, a -E override or a default.</summary>
public readonly record struct SourceLocation(string Source, int Line, int Column)
{
    public static readonly SourceLocation None = new("", 0, 0);

    public bool IsKnown => Source.Length > 0;

    public override string ToString() =>
        !IsKnown ? "(default)" : Line > 0 ? $"{Source}:{Line}:{Column}" : Source;
}
