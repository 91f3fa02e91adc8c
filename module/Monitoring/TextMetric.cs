namespace Shipper.Module.Monitoring;

/// <summary>A string-valued state such as the active backend or the last kill reason.</summary>
public sealed class TextMetric
{
    private string _value = "";

    public TextMetric(string name) => Name = name;

    public string Name { get; }

    public string Value => Volatile.Read(ref _value);

    public void Set(string value) => Volatile.Write(ref _value, value);
}
