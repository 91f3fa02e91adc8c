using Shipper.Module.Config;

namespace Shipper.Config;

/// <summary><c>output.console.*</c>.</summary>
public sealed record ConsoleOutputSettings(bool Pretty, int BatchSize)
{
    public static ConsoleOutputSettings Parse(ConfigSection console)
    {
        // codec.json.pretty is the older beats spelling of pretty.
        var pretty = console.Bool("pretty", console.Bool("codec.json.pretty", false));
        var batch = console.Int("bulk_max_size", 2048, min: 1, max: 1_000_000);
        return new ConsoleOutputSettings(pretty, batch);
    }
}
