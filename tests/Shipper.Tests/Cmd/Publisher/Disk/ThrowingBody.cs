using System.Text.Json;
using Shipper.Module.Registry;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>A dataset body with a bug: it writes a field and then throws, as a real one failing halfway would.</summary>
public sealed class ThrowingBody : IEventBody
{
    public void WriteFields(Utf8JsonWriter writer)
    {
        writer.WriteString("half", "written");
        throw new InvalidOperationException("body bug");
    }
}
